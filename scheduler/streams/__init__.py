"""Stream sources: live programmes (VOV, the provincial radio) a station can relay."""
