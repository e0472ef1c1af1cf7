import type { Page } from '@playwright/test';

export interface DropFile {
  name: string;
  /** Base64 of the bytes. */
  b64: string;
}

/** Drops files on the page as a user would: a drop event whose DataTransfer holds them. */
export async function dropFiles(page: Page, files: { name: string; bytes: Uint8Array | Buffer }[]): Promise<void> {
  const payload: DropFile[] = files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') }));
  await page.evaluate((list: DropFile[]) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
    const target = document.querySelector('main') ?? document.body;
    target.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, payload);
}
