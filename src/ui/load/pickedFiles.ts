import type { PickedFile } from '../../workers/traceProtocol';

/** At most this many files from one drop, and folders this deep: a dropped home folder must not hang the page. */
const MAX_FILES = 20_000;
const MAX_DEPTH = 16;

/** Files of an <input type=file> (with folder-relative paths for a folder pick). */
export function filesOfInput(list: FileList | null): PickedFile[] {
  return Array.from(list ?? [], (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** Files and whole folders of a drop, walking folders through the entries API. */
export async function filesOfDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(dt.items)
    .filter((i) => i.kind === 'file')
    .map((i) => i.webkitGetAsEntry());
  if (entries.every((e) => e === null)) return filesOfInput(dt.files);
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string, depth: number): Promise<void> => {
    if (out.length >= MAX_FILES || depth > MAX_DEPTH) return;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries answers in batches until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`, depth + 1);
      }
    }
  };
  for (const e of entries) if (e) await walk(e, '', 0);
  return out;
}
