"""The activity report's files for people: a workbook (XLSX) and an administrative report (PDF).

Both are made from one ActivityReport (machine codes) and a Names lookup; the words, numbers
and labels they print come from words.py, so the two files say the same things the same way.
"""
