// A soft two-tone ring made with Web Audio (no sound file to fetch). A
// page the person has not interacted with yet may not play sound; the
// dialog rings silently then.

/** One ring: two short tones, then a pause. */
const pattern = [
  { at: 0, freq: 880, length: 0.35 },
  { at: 0.45, freq: 660, length: 0.35 },
];
const everySeconds = 2.5;

export class Ringtone {
  /** @type {AudioContext | null} */
  #context = null;
  /** @type {number | undefined} */
  #timer;

  start() {
    if (this.#timer !== undefined) return;
    try {
      this.#context ??= new AudioContext();
    } catch {
      return;
    }
    const context = this.#context;
    void context.resume().catch(() => {});
    const ring = () => {
      if (context.state !== 'running') return;
      const now = context.currentTime;
      for (const tone of pattern) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.frequency.value = tone.freq;
        gain.gain.setValueAtTime(0, now + tone.at);
        gain.gain.linearRampToValueAtTime(0.12, now + tone.at + 0.03);
        gain.gain.linearRampToValueAtTime(0, now + tone.at + tone.length);
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(now + tone.at);
        oscillator.stop(now + tone.at + tone.length + 0.05);
      }
    };
    ring();
    this.#timer = window.setInterval(ring, everySeconds * 1000);
  }

  stop() {
    window.clearInterval(this.#timer);
    this.#timer = undefined;
    void this.#context?.suspend().catch(() => {});
  }
}
