import { useEffect, useState } from 'react';
import { useController } from '../../state/StoreContext';
import { filesOfDrop } from './pickedFiles';

const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');

/** Files and folders dropped anywhere on the page open like picked ones; an overlay shows while dragging. */
export function DropZone() {
  const controller = useController();
  const [over, setOver] = useState(false);
  useEffect(() => {
    let depth = 0;
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setOver(true);
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const overHandler = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      if (!e.dataTransfer || !hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setOver(false);
      void filesOfDrop(e.dataTransfer).then((files) => controller.openFiles(files));
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', overHandler);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', overHandler);
      window.removeEventListener('drop', drop);
    };
  }, [controller]);
  return over ? (
    <div className="drop-overlay" data-testid="drop-overlay" aria-hidden="true">
      Drop a trace set folder or routing logs
    </div>
  ) : null;
}
