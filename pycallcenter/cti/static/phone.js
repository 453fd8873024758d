// pycallcenter browser phone: a WebRTC phone for a logged-in agent or supervisor (docs/cti.md "Browser phone").
// Plain JavaScript, no build step. Any page of the CTI server can include it:
//   <div id="pycc-phone" data-csrf="SESSION_CSRF_TOKEN"></div>
//   <script src="/phone.js"></script>
//   <script>PyccPhone.mount(document.getElementById("pycc-phone"))</script>
// The phone registers under the session's user (the server decides who), rings when the centre calls it,
// and carries ringing, answer, hang-up, dialling and pad digits on the peer connection's data channel.
"use strict";
(function () {
  const PAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  // Its own small style, scoped by class, so a page that includes the widget needs no stylesheet for it
  const STYLE = ".pycc-phone{display:inline-block;font:15px system-ui,sans-serif;border:1px solid #888;" +
    "border-radius:8px;padding:10px;min-width:230px}" +
    ".pycc-phone-status{font-weight:600;margin-bottom:8px;padding:4px 6px;background:#eef;border-radius:4px}" +
    ".pycc-phone-controls,.pycc-phone-dial{display:flex;gap:4px;margin-bottom:8px}" +
    ".pycc-phone-dial input{flex:1;min-width:0}" +
    ".pycc-phone-pad{display:grid;grid-template-columns:repeat(3,1fr);gap:4px}" +
    ".pycc-phone-key{font-size:18px;padding:8px}";

  class Phone {
    constructor(root, csrf) {
      this.root = root;
      this.csrf = csrf;
      this.state = "offline";  // offline, registering, idle, ringing, dialing, talking
      this.caller = "";
      this.events = [];  // every message the centre sent (the tests read them)
      this.pc = null;
      this.channel = null;
      this.mic = null;
      this.remote = null;
      this.audioContext = null;
      this.analyser = null;  // AnalyserNode on what the centre sends (tests read its spectrum)
      this.ringer = null;
      this.build();
    }

    build() {
      if (!document.getElementById("pycc-phone-style")) {
        const style = document.createElement("style");
        style.id = "pycc-phone-style";
        style.textContent = STYLE;
        document.head.appendChild(style);
      }
      const el = (tag, attrs, text) => {
        const e = document.createElement(tag);
        Object.assign(e, attrs || {});
        if (text) e.textContent = text;
        return e;
      };
      this.root.classList.add("pycc-phone");
      this.status = el("div", { className: "pycc-phone-status" }, "offline");
      this.buttons = {};
      const bar = el("div", { className: "pycc-phone-controls" });
      for (const [name, label] of [["register", "Register"], ["answer", "Answer"], ["hangup", "Hang up"],
                                   ["mute", "Mute"]]) {
        const b = el("button", { type: "button", id: "pycc-phone-" + name }, label);
        b.addEventListener("click", () => this[name]());
        bar.appendChild(b);
        this.buttons[name] = b;
      }
      const dial = el("form", { className: "pycc-phone-dial" });
      this.number = el("input", { type: "tel", id: "pycc-phone-number", placeholder: "number or trunk/number",
                                  maxLength: 64 });
      dial.appendChild(this.number);
      dial.appendChild(el("button", { type: "submit", id: "pycc-phone-dial" }, "Dial"));
      dial.addEventListener("submit", (ev) => { ev.preventDefault(); this.dial(this.number.value.trim()); });
      const pad = el("div", { className: "pycc-phone-pad" });
      for (const d of PAD) {
        const b = el("button", { type: "button", className: "pycc-phone-key" }, d);
        b.dataset.digit = d;
        b.addEventListener("click", () => this.digit(d));
        pad.appendChild(b);
      }
      this.player = el("audio", { autoplay: true });
      for (const part of [this.status, bar, dial, pad, this.player]) this.root.appendChild(part);
      this.show();
    }

    show(text) {
      const s = this.state;
      this.status.textContent = text || (s === "ringing" ? "ringing: " + (this.caller || "unknown caller") : s);
      this.buttons.register.disabled = s !== "offline";
      this.buttons.answer.disabled = s !== "ringing";
      this.buttons.hangup.disabled = !["ringing", "dialing", "talking"].includes(s);
      this.buttons.mute.textContent = this.mic && !this.mic.getAudioTracks()[0].enabled ? "Unmute" : "Mute";
    }

    async register() {
      if (this.state !== "offline") return;
      this.state = "registering";
      this.show();
      try {
        this.mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
        const pc = this.pc = new RTCPeerConnection({ iceServers: [] });
        for (const t of this.mic.getAudioTracks()) pc.addTrack(t, this.mic);
        this.channel = pc.createDataChannel("phone");
        this.channel.onmessage = (ev) => this.message(ev.data);
        this.channel.onclose = () => this.offline("disconnected");
        pc.ontrack = (ev) => this.listen(ev.streams[0] || new MediaStream([ev.track]));
        pc.onconnectionstatechange = () => {
          if (["failed", "closed"].includes(pc.connectionState)) this.offline("connection " + pc.connectionState);
        };
        await pc.setLocalDescription(await pc.createOffer());
        await this.gathered(pc);
        const resp = await fetch("/phone/offer", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf },
          body: JSON.stringify({ sdp: pc.localDescription.sdp }),
        });
        const body = await resp.json();
        if (!resp.ok) throw new Error(body.error || resp.statusText);
        await pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
        await new Promise((ok, fail) => {
          if (this.channel.readyState === "open") return ok();
          this.channel.onopen = ok;
          setTimeout(() => fail(new Error("no connection to the centre")), 15000);
        });
        this.state = "idle";
        this.show();
      } catch (err) {
        this.offline("could not register: " + err.message);
      }
    }

    gathered(pc) {
      // No trickle ICE: the offer goes with every candidate (host candidates come at once)
      if (pc.iceGatheringState === "complete") return Promise.resolve();
      return new Promise((ok) => {
        const done = () => { if (pc.iceGatheringState === "complete") ok(); };
        pc.addEventListener("icegatheringstatechange", done);
        setTimeout(ok, 3000);
      });
    }

    listen(stream) {
      this.remote = stream;
      this.player.srcObject = stream;
      const Ctx = window.AudioContext || window.webkitAudioContext;
      this.audioContext = this.audioContext || new Ctx();
      const source = this.audioContext.createMediaStreamSource(stream);
      this.analyser = this.audioContext.createAnalyser();
      this.analyser.fftSize = 4096;
      source.connect(this.analyser);
    }

    message(text) {
      let msg;
      try { msg = JSON.parse(text); } catch (e) { return; }
      this.events.push(msg);
      if (msg.event === "ring") {
        this.state = "ringing";
        this.caller = msg.name ? msg.name + " <" + msg.caller + ">" : msg.caller;
        this.ring(true);
      } else if (msg.event === "dialing") {
        this.state = "dialing";
        this.caller = msg.number;
      } else if (msg.event === "answered") {
        this.state = "talking";
      } else if (msg.event === "hangup") {
        this.ring(false);
        this.state = "idle";
        this.caller = "";
      } else if (msg.event === "refused") {
        this.show("refused: " + msg.why);
        return;
      }
      this.show();
      this.root.dispatchEvent(new CustomEvent("pycc-phone", { detail: msg }));
    }

    ring(on) {
      // A quiet 440 Hz + 480 Hz ring in the page while a call is offered
      if (this.ringer) { this.ringer.stop(); this.ringer = null; }
      if (!on || !this.audioContext) return;
      const ctx = this.audioContext, gain = ctx.createGain(), osc = ctx.createOscillator();
      gain.gain.value = 0.05;
      osc.frequency.value = 460;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      this.ringer = osc;
    }

    send(msg) {
      if (this.channel && this.channel.readyState === "open") this.channel.send(JSON.stringify(msg));
    }

    answer() {
      if (this.state !== "ringing") return;
      this.ring(false);
      this.send({ cmd: "answer" });
      this.state = "talking";
      this.show();
    }

    hangup() {
      this.ring(false);
      this.send({ cmd: "hangup" });
      if (this.state !== "offline") this.state = "idle";
      this.caller = "";
      this.show();
    }

    dial(number) {
      if (this.state !== "idle" || !number) return;
      this.send({ cmd: "dial", number: number });
    }

    digit(d) {
      if (this.state === "talking" || this.state === "dialing") this.send({ cmd: "dtmf", digit: d });
    }

    mute() {
      if (!this.mic) return;
      for (const t of this.mic.getAudioTracks()) t.enabled = !t.enabled;
      this.show();
    }

    offline(why) {
      this.ring(false);
      if (this.pc) this.pc.close();
      if (this.mic) for (const t of this.mic.getTracks()) t.stop();
      this.pc = this.channel = this.mic = null;
      this.state = "offline";
      this.show(why);
    }

    // The loudest frequency (Hz) the centre's audio holds now, from the AnalyserNode (0 when silent)
    peakHz() {
      if (!this.analyser) return 0;
      const bins = new Float32Array(this.analyser.frequencyBinCount);
      this.analyser.getFloatFrequencyData(bins);
      let best = 0;
      for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
      return bins[best] < -90 ? 0 : best * this.audioContext.sampleRate / this.analyser.fftSize;
    }
  }

  window.PyccPhone = {
    mount(root) {
      const phone = new Phone(root, root.dataset.csrf || "");
      window.addEventListener("pagehide", () => { if (phone.pc) phone.pc.close(); });
      PyccPhone.instance = phone;
      return phone;
    },
    instance: null,
  };
})();
