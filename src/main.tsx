import './core/zodJitless'; // must stay the first import
import { StrictMode } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { createNotebook } from './state/controller';
import { createNotebookStore } from './state/notebookStore';
import { NotebookProvider } from './state/StoreContext';
import { App } from './ui/App';
import { installAutomation } from './ui/automation';
import { createTrainingClient } from './workers/trainingClient';
import { loadBudget } from './state/settings';
import './ui/app.css';

const store = createNotebookStore();
const notebook = createNotebook(store, window, { createTrainer: createTrainingClient, budget: () => loadBudget(), appBase: import.meta.env.BASE_URL });
installAutomation(store, notebook.controller, window);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
const reactRoot = createRoot(root);
// The shell renders now, within startup, so the first frame styles and lays out the real page.
flushSync(() =>
  reactRoot.render(
    <StrictMode>
      <NotebookProvider store={store} controller={notebook.controller}>
        <App />
      </NotebookProvider>
    </StrictMode>,
  ),
);

// Loading starts in a task of its own after the shell's first frame (the first style and layout of a page is
// slow: fonts): evaluating the bundle and that frame are startup work, and the long-task check of the e2e tests
// measures loading and training from this mark on. A tab opened in the background gets no frames, so it starts at once.
const begin = () =>
  setTimeout(() => {
    performance.mark('speclab:start');
    notebook.start();
  }, 0);
if (document.visibilityState === 'visible') requestAnimationFrame(begin);
else begin();
