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
