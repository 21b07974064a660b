// The emergency page: record from the microphone (MediaRecorder) or pick a file, and listen to
// it before continuing. The recording is put in the form's file input, so the form posts it
// like an uploaded file; without a microphone the upload still works.
"use strict";

(function () {
  const box = document.querySelector("[data-recorder]");
  if (!box) return;
  const start = box.querySelector("[data-record=start]");
  const stop = box.querySelector("[data-record=stop]");
  const state = box.querySelector("#record-state");
  const file = box.querySelector("#audio-file");
  const listen = box.querySelector("#listen");
  const micError = box.querySelector("#mic-error");
  const select = document.querySelector("select[name=bulletin_id]");
  let recorder = null;
  let listening = null;

  function play(blob) {
    if (listening) URL.revokeObjectURL(listening);
    listening = URL.createObjectURL(blob);
    listen.src = listening;
    listen.hidden = false;
    if (select) select.value = "";  // new audio replaces the choice of a bulletin
  }

  function pickedType() {
    const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
    return types.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
  }

  start.addEventListener("click", async () => {
    micError.hidden = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (_error) {
      micError.hidden = false;
      return;
    }
    const type = pickedType();
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks = [];
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const kind = recorder.mimeType || type || "audio/webm";
      const extension = kind.includes("ogg") ? "ogg" : kind.includes("mp4") ? "m4a" : "webm";
      const blob = new Blob(chunks, { type: kind });
      const recorded = new File([blob], `ghi-am.${extension}`, { type: kind });
      const holder = new DataTransfer();
      holder.items.add(recorded);
      file.files = holder.files;
      play(blob);
      state.textContent = state.getAttribute("data-recorded");
      start.hidden = false;
      stop.hidden = true;
      box.dispatchEvent(new CustomEvent("wardcast:recorded", { bubbles: true }));
    });
    recorder.start(250);
    state.textContent = state.getAttribute("data-recording");
    start.hidden = true;
    stop.hidden = false;
  });

  stop.addEventListener("click", () => {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  });

  file.addEventListener("change", () => {
    if (file.files && file.files[0]) {
      state.textContent = "";
      play(file.files[0]);
    }
  });
})();
