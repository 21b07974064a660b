// Timetable editor: show only the recurrence fields that apply, and preview the RRULE the
// server will write (the server builds the rule itself; this is only a preview).
"use strict";
(() => {
  const form = document.getElementById("timetable-form");
  if (!form) return;
  const preview = document.getElementById("rule-preview");
  const rule = () => {
    const repeat = (form.querySelector("input[name=repeat]:checked") || {}).value || "once";
    const days = [...form.querySelectorAll("input[name=weekdays]:checked")].map((d) => d.value);
    if (repeat === "daily") return "FREQ=DAILY";
    if (repeat === "weekly") return days.length ? "FREQ=WEEKLY;BYDAY=" + days.join(",") : "FREQ=WEEKLY";
    if (repeat === "monthly") return "FREQ=MONTHLY";
    if (repeat === "custom") return form.elements.rule.value;
    return "";
  };
  const update = () => {
    const repeat = (form.querySelector("input[name=repeat]:checked") || {}).value || "once";
    form.querySelectorAll("[data-when]").forEach((part) => {
      part.hidden = !part.getAttribute("data-when").split(" ").includes(repeat);
    });
    const text = rule();
    preview.textContent = text ? "RRULE: " + text : "";
  };
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
