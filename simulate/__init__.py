"""The many-station simulator (``wardcast simulate``): N agents in one process, one thread.

Each simulated station is the real agent's Station, Player, Reporter and Commands with
lighter parts plugged in through the agent's Protocols: a paho client driven by the shared
asyncio loop instead of its own network thread (link.py), an in-memory store (store.py), a
media cache shared by every station (media.py), and an output that keeps real time without
decoding (output.py).
"""
