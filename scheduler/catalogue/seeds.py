"""The names people read for languages, and the topics and sources reports count by.

Languages are stored as BCP 47 / ISO 639 codes (CONTRACT.md) and shown by name; topics and
sources start from the city plan's own themes (managed lists: an admin may add more).
Each entry: code → (Vietnamese name, English name).
"""

from __future__ import annotations

# the languages of the Central Highlands and the North first, then the rest
LANGUAGES: dict[str, tuple[str, str]] = {
    "vi": ("Tiếng Việt", "Vietnamese"),
    "rad": ("Ê Đê", "Rade (Ê Đê)"),
    "cmo": ("M'nông", "Mnong"),
    "mng": ("M'nông (Đông)", "Eastern Mnong"),
    "jra": ("Jrai (Gia Rai)", "Jarai"),
    "bdq": ("Ba Na", "Bahnar"),
    "sed": ("Xơ Đăng", "Sedang"),
    "kpm": ("Cơ Ho", "Koho"),
    "mtq": ("Mường", "Muong"),
    "tyz": ("Tày", "Tày"),
    "nut": ("Nùng", "Nung"),
    "hmn": ("H'Mông", "Hmong"),
    "blt": ("Thái", "Tai Dam"),
    "km": ("Khmer", "Khmer"),
    "cjm": ("Chăm", "Cham"),
    "rog": ("Raglai", "Raglai"),
    "sti": ("Xtiêng", "Stieng"),
    "zh": ("Tiếng Hoa", "Chinese"),
    "en": ("Tiếng Anh", "English"),
    # more of the Central Highlands' languages
    "cje": ("Chu Ru", "Chru"),
    "cma": ("Mạ", "Maa"),
    "hre": ("Hrê", "Hre"),
    "jeh": ("Giẻ Triêng (Jeh)", "Jeh"),
    "brb": ("Brâu", "Brao"),
    "rmx": ("Rơ Măm", "Romam"),
    "ktv": ("Cơ Tu", "Katu"),
    "bru": ("Bru - Vân Kiều", "Bru"),
    "tth": ("Tà Ôi", "Ta'oih"),
    # and the North's
    "ium": ("Dao", "Iu Mien"),
    "twh": ("Thái Trắng", "Tai Dón (White Tai)"),
    "pcc": ("Giáy", "Bouyei (Giáy)"),
    "mlc": ("Sán Chay (Cao Lan)", "Cao Lan"),
    "khb": ("Lự", "Tai Lü"),
    "hni": ("Hà Nhì", "Hani"),
    "lhu": ("La Hủ", "Lahu"),
    "kjg": ("Khơ Mú", "Khmu"),
    "puo": ("Xinh Mun", "Puoc"),
    "zng": ("Mảng", "Mang"),
    "pha": ("Pà Thẻn", "Pa-Hng"),
    "lbt": ("La Chí", "Lachi"),
    "lo": ("Tiếng Lào", "Lao"),
}

TOPICS: dict[str, tuple[str, str]] = {
    "chu-truong-chinh-sach": ("Chủ trương, chính sách, pháp luật", "Policy and law"),
    "nhiem-vu-chinh-tri": ("Nhiệm vụ chính trị địa phương", "Local political tasks"),
    "nong-thon-moi-do-thi-van-minh": ("Xây dựng nông thôn mới và đô thị văn minh",
                                      "New countryside and civilised towns"),
    "giam-ngheo": ("Giảm nghèo bền vững", "Sustainable poverty reduction"),
    "van-hoa": ("Đời sống văn hóa", "Cultural life"),
    "san-xuat-kinh-doanh": ("Kiến thức sản xuất, kinh doanh", "Farming and business know-how"),
    "an-ninh-trat-tu": ("An ninh trật tự", "Security and public order"),
    "y-te": ("Y tế", "Health"),
    "phong-chong-thien-tai": ("Phòng chống thiên tai", "Disaster prevention"),
    "khac": ("Khác", "Other"),
}
OTHER_TOPIC = "khac"

SOURCES: dict[str, tuple[str, str]] = {
    "tu-san-xuat": ("Tự sản xuất", "Own production"),
    "cap-tinh": ("Cấp tỉnh", "Provincial"),
    "cap-thanh-pho-trung-uong": ("Cấp thành phố/trung ương", "City or national"),
    "tiep-am": ("Tiếp âm", "Relay"),
}

# Free-text categories people already type, beside the topics' own codes and names (which
# match by themselves): the one place such words are mapped. Compared without case and
# diacritics, whole text only ("Y tế" matches, "Tin y tế tuần này" does not).
TOPIC_SYNONYMS: dict[str, str] = {
    "sức khỏe": "y-te",
    "dịch bệnh": "y-te",
    "thiên tai": "phong-chong-thien-tai",
    "bão lũ": "phong-chong-thien-tai",
    "phòng chống bão lũ": "phong-chong-thien-tai",
    "nông nghiệp": "san-xuat-kinh-doanh",
    "khuyến nông": "san-xuat-kinh-doanh",
    "pháp luật": "chu-truong-chinh-sach",
    "chính sách": "chu-truong-chinh-sach",
    "an ninh": "an-ninh-trat-tu",
    "văn hóa": "van-hoa",
    "văn hóa thể thao": "van-hoa",
    "nông thôn mới": "nong-thon-moi-do-thi-van-minh",
    "giảm nghèo": "giam-ngheo",
}

# list order for the seeded entries: the plan's order, "Khác" always last
OTHER_POSITION = 1000
