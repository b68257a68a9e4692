// <parley-notice>: a message about what just happened, announced to screen
// readers. Errors interrupt (role=alert); confirmations wait (role=status).

export class Notice extends HTMLElement {
  /**
   * @param {'error' | 'success' | 'info'} kind
   * @returns {Notice}
   */
  static create(kind) {
    const notice = new Notice();
    notice.kind = kind;
    return notice;
  }

  /** @type {'error' | 'success' | 'info'} */
  #kind = 'info';

  get kind() {
    return this.#kind;
  }

  set kind(kind) {
    this.#kind = kind;
    this.classList.remove('notice-error', 'notice-success', 'notice-info');
    this.classList.add('notice', `notice-${kind}`);
  }

  connectedCallback() {
    // The live region must exist before its text changes to be announced,
    // so the role is set once here and never swapped.
    if (!this.hasAttribute('role')) this.setAttribute('role', this.#kind === 'error' ? 'alert' : 'status');
    if (!this.textContent) this.hidden = true;
  }

  /**
   * Shows the lines, each as its own paragraph.
   * @param {...string} lines
   */
  show(...lines) {
    this.replaceChildren(...lines.filter(Boolean).map((line) => {
      const p = document.createElement('p');
      p.textContent = line;
      return p;
    }));
    this.hidden = this.childElementCount === 0;
  }

  clear() {
    this.replaceChildren();
    this.hidden = true;
  }
}

customElements.define('parley-notice', Notice);
