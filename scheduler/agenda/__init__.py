"""What a station will play between two instants: the ledger, extended by its timetables."""
