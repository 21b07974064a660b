"""Audio bulletins: upload, processing, approval."""
