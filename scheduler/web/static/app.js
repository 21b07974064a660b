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
// When the API answers that the audio is a duplicate, its [data-duplicate] box links to the
// earlier bulletin and its button sends the form again with allow_duplicate=true.
function startUpload(form) {
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-status]");
  const button = form.querySelector("button[type=submit]");
  const duplicate = form.querySelector("[data-duplicate]");
  const showDuplicate = (earlier) => {
    const link = duplicate.querySelector("a");
    link.href = "/bulletins/" + earlier.id;
    link.textContent = earlier.title;
    duplicate.hidden = false;
    bar.hidden = true;
    status.textContent = "";
    button.disabled = false;
  };
  if (duplicate) {
    duplicate.querySelector("button").addEventListener("click", () => {
      form.elements.allow_duplicate.value = "true";
      duplicate.hidden = true;
      form.requestSubmit();
    });
  }
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
      if (duplicate && request.status === 409 && body.code === "duplicate" && body.duplicate_of) {
        showDuplicate(body.duplicate_of);
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
    if (duplicate) duplicate.hidden = true;
    bar.hidden = false;
    status.classList.remove("error");
    request.send(new FormData(form));
  });
}
document.querySelectorAll("form[data-upload]").forEach(startUpload);
