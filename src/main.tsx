import './ui/zodJitless'; // must stay the first import
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createAppStore } from './state/appStore';
import { startApp } from './state/controller';
import { StoreProvider } from './state/StoreContext';
import { App } from './ui/App';
import './ui/app.css';

const store = createAppStore();
startApp(store);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
