import type { Interface } from 'node:readline';

/** Carriage return, then erase the whole row: every row this screen redraws starts with it. */
const CLEAR_ROW = '\r\x1b[2K';
const UP = '\x1b[1A';
const DOWN = '\x1b[1B';
const PROMPT = 'sealcall> ';
/** Width assumed when the terminal does not say (some ptys report 0 columns). */
const DEFAULT_COLUMNS = 80;

/**
 * The bottom of an interactive terminal: a status line redrawn in place and, once commands are
 * read from the keyboard, a prompt row under it with what the user is typing. Event lines are
 * printed above both, so they scroll while the status and the typed text stay put.
 *
 * readline only reads keys here (it has no output stream): this class draws every row itself,
 * each at most one terminal row wide, so it always knows where the cursor is. A redraw of the
 * status line writes no newline, so a level meter ticking twice a second does not scroll.
 */
export class TerminalScreen {
  private status = '';
  private drawn = false;
  private keys: Interface | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** Shows the prompt and follows `keys` (a readline on the keyboard whose listeners ran first). */
  attach(keys: Interface, input: NodeJS.ReadStream): void {
    const back = this.toStatusRow();
    this.keys = keys;
    this.out.write(back + this.draw());
    input.on('keypress', () => this.drawPromptRow());
    // The typed command stays visible above, like in a shell.
    keys.on('line', (line) => this.update(this.status, PROMPT + line));
  }

  /**
   * Shows `status` and, when given, prints `line` (one or more lines) above it. A status change
   * alone is redrawn in place.
   */
  update(status: string, line?: string): void {
    const changed = status !== this.status;
    this.status = status;
    if (line !== undefined) this.out.write(`${this.toStatusRow()}${CLEAR_ROW}${line}\n${this.draw()}`);
    else if (!this.drawn) this.out.write(this.draw());
    else if (!changed) return;
    else if (!this.keys) this.out.write(this.statusRow());
    // Up to the status row and back, so the prompt row with the cursor is not touched.
    else this.out.write(`${UP}${this.statusRow()}${DOWN}\x1b[${this.typed().column}G`);
  }

  /** Erases the status and prompt rows, leaving the cursor where the next output should go. */
  close(): void {
    this.out.write(`${this.toStatusRow()}${CLEAR_ROW}`);
    this.drawn = false;
  }

  /** Moves to the status row, erasing the prompt row on the way. */
  private toStatusRow(): string {
    return this.drawn && this.keys ? `${CLEAR_ROW}${UP}` : '';
  }

  /** Draws the status row and the prompt row from the status row on. */
  private draw(): string {
    this.drawn = true;
    return this.keys ? `${this.statusRow()}\n${this.promptRow()}` : this.statusRow();
  }

  private statusRow(): string {
    return CLEAR_ROW + this.fit(this.status);
  }

  private drawPromptRow(): void {
    if (this.drawn) this.out.write(this.promptRow());
  }

  private promptRow(): string {
    const { text, column } = this.typed();
    return `${CLEAR_ROW}${PROMPT}${text}\x1b[${column}G`;
  }

  /** What the prompt row shows of the typed text, scrolled sideways to keep the cursor on the row. */
  private typed(): { text: string; column: number } {
    const { line, cursor } = this.keys!;
    const room = Math.max(10, this.columns() - PROMPT.length - 1);
    const start = Math.max(0, cursor - room);
    return { text: line.slice(start, start + room), column: PROMPT.length + cursor - start + 1 };
  }

  /** A row one column short of the width: writing the last column would wrap on some terminals. */
  private fit(text: string): string {
    const width = this.columns() - 1;
    return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
  }

  private columns(): number {
    return this.out.columns || DEFAULT_COLUMNS;
  }
}
