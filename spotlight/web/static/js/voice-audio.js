// Audio for the voice coach in the browser: the microphone as PCM16 24 kHz frames
// (voice-capture.worklet.js), and the coach's PCM16 24 kHz answers played back in order.
// Browser-only (Web Audio); exercised by the browser test (tests/e2e/test_browser_voice.py).

export const SAMPLE_RATE = 24000;

/** Push-to-talk capture: ``start()`` opens the microphone, frames go to ``onFrame``. */
export class Microphone {
  constructor({ onFrame }) {
    this.onFrame = onFrame; // (ArrayBuffer of PCM16 LE) => void
    this.context = null;
    this.node = null;
    this.stream = null;
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error("this browser gives no access to a microphone (it needs https or localhost)");
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule("/static/js/voice-capture.worklet.js");
    const source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "spotlight-capture");
    this.node.port.onmessage = (e) => this.onFrame(e.data);
    source.connect(this.node);
  }

  /** Stop listening; the last partial frame is delivered first. */
  async stop() {
    if (this.node) {
      this.node.port.postMessage("flush");
      await new Promise((resolve) => setTimeout(resolve, 30)); // let the flush arrive
      this.node.disconnect();
    }
    this.stream?.getTracks().forEach((t) => t.stop());
    await this.context?.close();
    this.node = this.stream = this.context = null;
  }
}

/** The coach's voice: frames are scheduled back to back; ``stop()`` silences at once. */
export class Player {
  constructor() {
    this.context = null;
    this.at = 0; // when the next frame starts (context time)
    this.sources = new Set();
    this.played = 0; // bytes scheduled
  }

  play(buffer) {
    if (!this.context) this.context = new AudioContext({ sampleRate: SAMPLE_RATE });
    const ctx = this.context;
    const pcm = new Int16Array(buffer);
    if (!pcm.length) return;
    const audio = ctx.createBuffer(1, pcm.length, SAMPLE_RATE);
    const channel = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i += 1) channel[i] = pcm[i] / 32768;
    const source = ctx.createBufferSource();
    source.buffer = audio;
    source.connect(ctx.destination);
    this.at = Math.max(this.at, ctx.currentTime + 0.05);
    source.start(this.at);
    this.at += audio.duration;
    this.played += buffer.byteLength;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  stop() {
    for (const s of this.sources) {
      try {
        s.stop();
      } catch {
        // not started yet
      }
    }
    this.sources.clear();
    this.at = 0;
  }
}
