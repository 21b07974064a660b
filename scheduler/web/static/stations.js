// Copy a value to the clipboard: <button data-copy="#selector" data-copied="Copied">.
"use strict";
document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const field = document.querySelector(button.getAttribute("data-copy"));
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (_error) {
      document.execCommand("copy"); // plain http on a ward LAN has no clipboard API
    }
    button.textContent = button.getAttribute("data-copied");
  });
});

// The station page's progress bar moves each second between two polls of the page's live part
// (which brings the server's figure again): m:ss of what has played, of the whole.
const clock = (ms) => {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
};
if (document.getElementById("station-live")) {
  window.setInterval(() => {
    const bar = document.getElementById("now-progress");
    const shown = document.getElementById("now-time");
    if (!bar || !shown) return;
    bar.value = Math.min(bar.max, bar.value + 1000);
    shown.textContent = `${clock(bar.value)} / ${clock(bar.max)}`;
  }, 1000);
}
