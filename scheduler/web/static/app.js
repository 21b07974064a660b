// wardcast pages: a little progressive enhancement, no framework and no build step.
"use strict";

// The API says each error in both languages, "Vietnamese — English": keep the page's part.
function inPageLanguage(text) {
  const cut = String(text).indexOf(" — ");
  if (cut < 0) return String(text);
  return document.documentElement.lang === "vi" ? text.slice(0, cut) : text.slice(cut + 3);
}

// <form data-confirm="..."> asks before submitting (approve, reject, delete, emergency).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// <div data-poll="/url" data-every="5"> replaces its inner HTML with the URL's answer every
// few seconds (a page fragment): live dashboards without reloading the page.
function startPolling(element) {
  const url = element.getAttribute("data-poll");
  const every = Math.max(1, Number(element.getAttribute("data-every") || 5)) * 1000;
  const tick = async () => {
    try {
      const answer = await fetch(url, { credentials: "same-origin", headers: { "X-Fragment": "1" } });
      if (answer.ok) {
        element.innerHTML = await answer.text();
        element.dispatchEvent(new CustomEvent("wardcast:updated", { bubbles: true }));
      }
    } catch (_error) {
      // the next tick tries again; a dropped office link must not stop the dashboard
    }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
}
document.querySelectorAll("[data-poll]").forEach(startPolling);

// <form data-upload data-api="/api/v1/..."> sends its fields with XMLHttpRequest so that a
// <progress> can show the upload; on success the browser goes to data-done with {id} filled in.
function startUpload(form) {
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-status]");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("data-api"));
    request.responseType = "json";
    request.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
      status.textContent = form.getAttribute("data-sending") + " " + bar.value + "%";
    });
    request.upload.addEventListener("load", () => {
      bar.value = 100;
      status.textContent = form.getAttribute("data-processing");
    });
    request.addEventListener("load", () => {
      const body = request.response || {};
      if (request.status >= 200 && request.status < 300) {
        window.location.assign(form.getAttribute("data-done").replace("{id}", body.id));
        return;
      }
      status.textContent = form.getAttribute("data-failed") + " " + inPageLanguage(body.detail || request.status);
      status.classList.add("error");
      button.disabled = false;
    });
    request.addEventListener("error", () => {
      status.textContent = form.getAttribute("data-failed");
      button.disabled = false;
    });
    button.disabled = true;
    bar.hidden = false;
    status.classList.remove("error");
    request.send(new FormData(form));
  });
}
document.querySelectorAll("form[data-upload]").forEach(startUpload);

// <select data-code-for="ID"> picks a code by its name into the input ID (what the form sends);
// its option with the value "" ("another…") shows that input instead, to type any other code.
function startCodePicker(select) {
  const input = document.getElementById(select.getAttribute("data-code-for"));
  const box = input.closest("label") || input;
  const show = (typing) => {
    box.hidden = select.value !== "";
    if (select.value !== "") {
      input.value = select.value;
    } else if (typing) {
      input.value = "";
      input.focus();
    }
  };
  select.addEventListener("change", () => show(true));
  show(false);
}
document.querySelectorAll("select[data-code-for]").forEach(startCodePicker);
