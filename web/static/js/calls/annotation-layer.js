// Drawings over a shared screen: a canvas laid exactly over the picture
// (the video keeps its aspect ratio, so the canvas follows the letterbox),
// showing every drawing for one target in the order the server numbered
// them. Where the device may draw, a pointer drag becomes a stroke sent
// in parts as it goes (at most 20 parts a second, under the server's 30),
// with coordinates from 0 to 1 of the picture, so they land on the same
// spot at any size. Pen strokes stay; pointer strokes fade.

/** @typedef {import('./call-media.js').CallMedia} CallMedia */
/** @typedef {import('./call-media.js').Annotation} Annotation */
/** @typedef {import('../components/video-tile.js').VideoTile} VideoTile */

/**
 * @typedef {Object} Stroke
 * @property {string} id
 * @property {string} userId
 * @property {'pen' | 'pointer'} tool
 * @property {string} color
 * @property {[number, number][]} points
 * @property {number} touched when its last part arrived (performance.now())
 */

/** How long a pointer trail takes to fade away, after its last part. */
const fadeMs = 1500;
/** How often the parts of a stroke being drawn are sent. */
const sendEveryMs = 50;
/** The server's limit on points per part. */
const maxPoints = 500;

export class AnnotationLayer {
  /** @type {HTMLCanvasElement} */
  canvas;
  /** @type {'pen' | 'pointer'} */
  tool = 'pen';
  color = '#ff3b30';
  /** @type {CallMedia} */
  #media;
  /** @type {VideoTile} */
  #tile;
  /** @type {string} */
  #target;
  /** @type {Map<string, Stroke>} strokes shown, in order */
  #strokes = new Map();
  /** @type {Map<string, Stroke>} this device's strokes before the server echoed them */
  #preview = new Map();
  /** @type {{ id: string, pending: [number, number][], timer: number | undefined } | null} */
  #drawing = null;
  #frame = 0;
  /** @type {(() => void)[]} */
  #cleanup = [];
  #drawable;

  /**
   * @param {{ media: CallMedia, tile: VideoTile, target: string, drawable: boolean, label: string }} options
   *   target: the participant whose screen this is; drawable: this device
   *   may draw here (a helper over the customer's screen)
   */
  constructor({ media, tile, target, drawable, label }) {
    this.#media = media;
    this.#tile = tile;
    this.#target = target;
    this.#drawable = drawable;
    this.canvas = document.createElement('canvas');
    this.canvas.className = drawable ? 'annotation-layer is-drawable' : 'annotation-layer';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
    this.canvas.dataset.target = target;
    tile.overlay.append(this.canvas);

    for (const annotation of media.annotations) this.#apply(annotation, true);
    this.#cleanup.push(media.on('annotation', (annotation) => this.#apply(annotation, false)));
    const observer = new ResizeObserver(() => this.#schedule());
    observer.observe(tile.element);
    this.#cleanup.push(() => observer.disconnect());
    const onResize = () => this.#schedule();
    tile.video.addEventListener('resize', onResize);
    tile.video.addEventListener('loadedmetadata', onResize);
    this.#cleanup.push(() => {
      tile.video.removeEventListener('resize', onResize);
      tile.video.removeEventListener('loadedmetadata', onResize);
    });
    if (drawable) this.#listen();
    this.#schedule();
  }

  get target() {
    return this.#target;
  }

  /**
   * @param {Annotation} annotation
   * @param {boolean} old from the catch-up: pointer trails are long gone
   */
  #apply(annotation, old) {
    if (annotation.target !== this.#target) return;
    const userId = annotation.user_id ?? '';
    if (annotation.op === 'clear') {
      this.#strokes.clear();
      this.#preview.clear();
    } else if (annotation.op === 'undo') {
      const last = [...this.#strokes.values()].reverse().find((stroke) => stroke.userId === userId && stroke.tool === 'pen');
      if (last) {
        this.#strokes.delete(last.id);
        this.#preview.delete(last.id);
      }
    } else if (annotation.op === 'stroke' && annotation.stroke && annotation.points) {
      if (old && annotation.tool === 'pointer') return;
      const key = `${userId}/${annotation.stroke}`;
      const stroke = this.#strokes.get(key) ?? {
        id: key, userId, tool: annotation.tool ?? 'pen', color: annotation.color ?? '#ff3b30', points: [], touched: 0,
      };
      stroke.points.push(...annotation.points);
      stroke.touched = performance.now();
      this.#strokes.set(key, stroke);
      const preview = this.#preview.get(key);
      if (preview && !this.#drawingKey(key) && stroke.points.length >= preview.points.length) this.#preview.delete(key);
    }
    this.#schedule();
  }

  /** @param {string} key */
  #drawingKey(key) {
    return this.#drawing !== null && `${this.#media.participantId.split('~')[0]}/${this.#drawing.id}` === key;
  }

  #schedule() {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  }

  #draw() {
    const box = this.#tile.pictureBox();
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    canvas.style.left = `${box.x}px`;
    canvas.style.top = `${box.y}px`;
    canvas.style.width = `${box.width}px`;
    canvas.style.height = `${box.height}px`;
    const width = Math.max(1, Math.round(box.width * ratio));
    const height = Math.max(1, Math.round(box.height * ratio));
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const context = canvas.getContext('2d');
    if (!context) return;
    context.clearRect(0, 0, width, height);
    const now = performance.now();
    let fading = false;
    /** @type {Map<string, Stroke>} */
    const shown = new Map(this.#strokes);
    for (const [key, preview] of this.#preview) {
      const echoed = shown.get(key);
      if (!echoed || echoed.points.length < preview.points.length) shown.set(key, preview);
    }
    for (const [key, stroke] of shown) {
      let alpha = 1;
      if (stroke.tool === 'pointer') {
        alpha = 1 - (now - stroke.touched) / fadeMs;
        if (alpha <= 0) {
          if (!this.#drawingKey(key)) {
            this.#strokes.delete(key);
            this.#preview.delete(key);
            continue;
          }
          alpha = 1;
        }
        fading = true;
      }
      context.globalAlpha = Math.max(0, Math.min(1, alpha));
      context.strokeStyle = stroke.color;
      context.fillStyle = stroke.color;
      context.lineWidth = (stroke.tool === 'pointer' ? 6 : 4) * ratio;
      context.lineCap = 'round';
      context.lineJoin = 'round';
      const [first, ...rest] = stroke.points;
      if (!first) continue;
      context.beginPath();
      context.moveTo(first[0] * width, first[1] * height);
      if (rest.length === 0) {
        context.arc(first[0] * width, first[1] * height, context.lineWidth / 2, 0, Math.PI * 2);
        context.fill();
        continue;
      }
      for (const [x, y] of rest) context.lineTo(x * width, y * height);
      context.stroke();
    }
    context.globalAlpha = 1;
    canvas.dataset.strokes = String(this.#strokes.size);
    if (fading) this.#schedule();
  }

  // Drawing (where allowed).

  #listen() {
    const canvas = this.canvas;
    /** @param {PointerEvent} event */
    const point = (event) => {
      const box = canvas.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (event.clientX - box.left) / (box.width || 1)));
      const y = Math.min(1, Math.max(0, (event.clientY - box.top) / (box.height || 1)));
      return /** @type {[number, number]} */ ([Math.round(x * 10000) / 10000, Math.round(y * 10000) / 10000]);
    };
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      const id = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      this.#drawing = { id, pending: [], timer: undefined };
      this.#add(point(event));
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!this.#drawing) return;
      for (const e of event.getCoalescedEvents?.() ?? [event]) this.#add(point(e));
    });
    const finish = () => {
      if (!this.#drawing) return;
      this.#flush();
      this.#drawing = null;
      this.#schedule();
    };
    canvas.addEventListener('pointerup', finish);
    canvas.addEventListener('pointercancel', finish);
  }

  /** @param {[number, number]} p */
  #add(p) {
    const drawing = this.#drawing;
    if (!drawing) return;
    const key = `${this.#media.participantId.split('~')[0]}/${drawing.id}`;
    const preview = this.#preview.get(key) ?? { id: key, userId: '', tool: this.tool, color: this.color, points: [], touched: 0 };
    preview.points.push(p);
    preview.touched = performance.now();
    this.#preview.set(key, preview);
    drawing.pending.push(p);
    if (drawing.pending.length >= maxPoints) this.#flush();
    else if (drawing.timer === undefined) drawing.timer = window.setTimeout(() => this.#flush(), sendEveryMs);
    this.#schedule();
  }

  #flush() {
    const drawing = this.#drawing;
    if (!drawing) return;
    window.clearTimeout(drawing.timer);
    drawing.timer = undefined;
    const points = drawing.pending.splice(0, maxPoints);
    if (points.length === 0) return;
    void this.#media.annotate({
      target: this.#target, op: 'stroke', tool: this.tool, color: this.color, stroke: drawing.id, points,
    }).catch(() => {});
  }

  /** Takes back this person's last pen stroke, on every side. */
  undo() {
    void this.#media.annotate({ target: this.#target, op: 'undo' }).catch(() => {});
  }

  /** Wipes every drawing on this screen, on every side. */
  clear() {
    void this.#media.annotate({ target: this.#target, op: 'clear' }).catch(() => {});
  }

  get drawable() {
    return this.#drawable;
  }

  destroy() {
    for (const cleanup of this.#cleanup) cleanup();
    cancelAnimationFrame(this.#frame);
    this.#drawing = null;
    this.canvas.remove();
  }
}
