"""The many-station simulator (``wardcast simulate``): N agents in one process, one thread.

Each simulated station is the real agent's Station, Player, Reporter and Commands with
lighter parts: a paho client driven by the shared asyncio loop instead of its own network
thread, an in-memory store, a media cache shared by every station, and an output that keeps
real time without decoding.
"""
