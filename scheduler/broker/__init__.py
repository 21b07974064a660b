"""Brokers: the embedded one for zero set-up, and station accounts on Mosquitto."""
