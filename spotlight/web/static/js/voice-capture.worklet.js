// AudioWorklet: the microphone as PCM16 mono 24 kHz, in frames of 100 ms (2,400 samples),
// posted to the page as ArrayBuffers. Resampled here (linear interpolation) from whatever
// rate the audio context runs at, so it works on every device.
const TARGET_RATE = 24000;
const FRAME_SAMPLES = 2400;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.pos = 0; // position of the next output sample, in input samples
    this.prev = 0; // the last input sample of the previous block
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.port.onmessage = (e) => {
      if (e.data === "flush" && this.filled) {
        this.port.postMessage(this.frame.slice(0, this.filled).buffer);
        this.filled = 0;
      }
    };
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    // Sample i of this block is input[i]; index -1 is the previous block's last sample.
    while (this.pos < input.length) {
      const j = Math.floor(this.pos);
      const a = j < 0 ? this.prev : input[j];
      const b = j + 1 < input.length ? input[j + 1] : input[j];
      const x = a + (b - a) * (this.pos - j);
      this.frame[this.filled++] = Math.max(-32768, Math.min(32767, Math.round(x * 32767)));
      if (this.filled === FRAME_SAMPLES) {
        this.port.postMessage(this.frame.slice().buffer);
        this.filled = 0;
      }
      this.pos += this.step;
    }
    this.pos -= input.length;
    this.prev = input[input.length - 1];
    return true;
  }
}

registerProcessor("spotlight-capture", CaptureProcessor);
