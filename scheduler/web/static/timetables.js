// Timetable editor: show only the recurrence fields that apply, tick days from the presets,
// and ask the server for the preview (rule in words, next broadcasts, quiet hours, clashes)
// as the clerk edits. The server reads the form itself; nothing here builds a rule.
"use strict";
(() => {
  const form = document.getElementById("timetable-form");
  if (!form) return;
  const preview = document.getElementById("preview");
  const timetable = preview.getAttribute("data-timetable");
  let asked = 0;
  let timer = null;
  const repeat = () => (form.querySelector("input[name=repeat]:checked") || {}).value || "once";
  const show = () => {
    form.querySelectorAll("[data-when]").forEach((part) => {
      part.hidden = !part.getAttribute("data-when").split(" ").includes(repeat());
    });
  };
  const refresh = async () => {
    const mine = ++asked;
    const body = new FormData(form);
    if (timetable) body.append("timetable_id", timetable);
    try {
      const answer = await fetch("/timetables/preview", {method: "POST", body, credentials: "same-origin"});
      if (mine !== asked || !answer.ok) return;
      const html = await answer.text();
      if (mine === asked) {
        preview.innerHTML = html;
        preview.setAttribute("data-fresh", String(mine));
      }
    } catch (e) {
      // offline or the server restarting: the preview stays as it was
    }
  };
  const changed = () => {
    show();
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  };
  form.querySelectorAll("button.preset").forEach((button) => {
    button.addEventListener("click", () => {
      const days = button.getAttribute("data-days").split(",");
      form.querySelectorAll("input[name=weekdays]").forEach((box) => {
        box.checked = days.includes(box.value);
      });
      const weekly = form.querySelector("input[name=repeat][value=weekly]");
      if (weekly) weekly.checked = true;
      changed();
    });
  });
  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
  show();
})();
