// The live page: the microphone (getUserMedia) recorded in short Opus chunks (MediaRecorder)
// and sent over the live session's WebSocket as they come; the server relays them to the
// chosen stations and keeps the recording. Start asks for the microphone first, so a refused
// microphone starts nothing; stop sends the last chunk, closes the socket and ends the session.
"use strict";

(function () {
  const form = document.querySelector("[data-live]");
  if (!form) return;
  const start = form.querySelector("[data-action=start-live]");
  const stop = form.querySelector("[data-action=stop-live]");
  const state = form.querySelector("#live-state");
  const error = form.querySelector("#live-error");
  const micError = form.querySelector("#mic-error");
  const recording = form.querySelector("#live-recording");
  const recordingLink = form.querySelector("#live-recording-link");
  const CHUNK_MS = 100; // each chunk adds this much delay: short, but not a packet each
  let session = null;
  let socket = null;
  let recorder = null;
  let microphone = null;
  let clock = null;

  // API errors say "Vietnamese — English": the page's language picks its half
  function said(detail) {
    const parts = String(detail || "").split(" — ");
    return document.documentElement.lang === "en" && parts.length > 1 ? parts.slice(1).join(" — ") : parts[0];
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function picked(name) {
    return Array.from(form.querySelectorAll(`input[name=${name}]:checked`), (box) => Number(box.value));
  }

  function onAir(since) {
    const time = since.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    state.textContent = form.dataset.onAir.replace("{time}", time);
  }

  function pickedType() {
    const types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"];
    return types.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
  }

  async function post(url, body) {
    const answer = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(said(data.detail) || String(answer.status));
    return data;
  }

  function release() {
    if (microphone) microphone.getTracks().forEach((track) => track.stop());
    microphone = null;
    clearInterval(clock);
  }

  start.addEventListener("click", async () => {
    error.hidden = true;
    micError.hidden = true;
    recording.hidden = true;
    try {
      microphone = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (_error) {
      micError.hidden = false;
      return;
    }
    start.disabled = true;
    state.textContent = form.dataset.starting;
    try {
      session = await post("/api/v1/live", {
        station_ids: picked("station_ids"), group_ids: picked("group_ids"),
        priority: form.querySelector("#live-priority").value,
      });
    } catch (problem) {
      release();
      start.disabled = false;
      state.textContent = "";
      fail(problem.message);
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${session.ws_path}`);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("close", () => {
      if (recorder && recorder.state !== "inactive") fail(form.dataset.lost);
    });
    socket.addEventListener("open", () => {
      const type = pickedType();
      recorder = new MediaRecorder(microphone, type ? { mimeType: type, audioBitsPerSecond: 48000 } : {});
      recorder.addEventListener("dataavailable", (event) => {
        if (event.data.size && socket.readyState === WebSocket.OPEN) socket.send(event.data);
      });
      recorder.addEventListener("stop", () => finish());
      recorder.start(CHUNK_MS);
      const since = new Date();
      onAir(since);
      clock = setInterval(() => onAir(since), 1000);
      form.dataset.session = String(session.id);
      start.hidden = true;
      stop.hidden = false;
    });
  });

  async function get(url) {
    const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(said(data.detail) || String(answer.status));
    return data;
  }

  // the recording is processed (loudness, like an upload) after stop: wait for its bulletin
  async function showRecording(id) {
    for (let tries = 0; tries < 120; tries += 1) {
      const seen = await get(`/api/v1/live/${id}`);
      if (seen.recording_bulletin_id) {
        const bulletin = await get(`/api/v1/bulletins/${seen.recording_bulletin_id}`);
        recordingLink.href = `/bulletins/${bulletin.id}`;
        recordingLink.textContent = bulletin.title;
        recording.hidden = false;
        state.textContent = form.dataset.stopped;
        return;
      }
      if (seen.recording_state === "empty" || seen.recording_state === "failed") {
        state.textContent = form.dataset.notKept;
        return;
      }
      await new Promise((done) => setTimeout(done, 1000));
    }
  }

  async function finish() {
    release();
    if (socket && socket.readyState === WebSocket.OPEN) socket.close(1000, "stop");
    recorder = null;
    state.textContent = form.dataset.stopping;
    try {
      await post(`/api/v1/live/${session.id}/stop`);
      await showRecording(session.id);
    } catch (problem) {
      fail(problem.message);
    }
    stop.hidden = true;
    stop.disabled = false;
    start.hidden = false;
    start.disabled = false;
  }

  stop.addEventListener("click", () => {
    stop.disabled = true;
    if (recorder && recorder.state !== "inactive") recorder.stop();  // its "stop" finishes
    else finish();
  });
})();
