"""Vietnamese words for stored values, for the domain's bilingual messages ("vi — en").

Pages label values from their catalogues (scheduler/web/labels.py); an error message is built
below the web layer, so it names a priority or a status with these words instead of the code.
"""

from __future__ import annotations

PRIORITY_VI = {"normal": "thường", "priority": "ưu tiên", "emergency": "khẩn cấp"}
BULLETIN_STATUS_VI = {"pending": "đang chờ duyệt", "approved": "đã được duyệt",
                      "rejected": "đã bị từ chối", "archived": "đã lưu trữ"}


def priority_vi(code: str) -> str:
    return PRIORITY_VI.get(code, code)


def bulletin_status_vi(code: str) -> str:
    return BULLETIN_STATUS_VI.get(code, code)


PLAYBACK_STATUS_VI = {"planned": "đã lên lịch", "delivered": "trạm đã nhận lịch",
                      "ready": "sẵn sàng", "playing": "đang phát", "played": "đã phát",
                      "failed": "lỗi", "missed": "bị lỡ", "skipped": "bỏ qua",
                      "interrupted": "bị ngắt", "cancelled": "đã huỷ"}


def playback_status_vi(code: str) -> str:
    return PLAYBACK_STATUS_VI.get(code, code)


def station_vi(name: str) -> str:
    """A station in a Vietnamese sentence: its name, after "trạm" unless the name has it
    ("Trạm Phường An Khánh" stays, "Phường An Khánh" becomes "trạm Phường An Khánh")."""
    return name if name.casefold().startswith("trạm") else f"trạm {name}"


def station_en(name: str) -> str:
    """A station in an English sentence: "station X", or its name when it says "Trạm"."""
    return name if name.casefold().startswith(("trạm", "station")) else f"station {name}"


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
