import { GpuStatus } from './GpuStatus';
import { LoadStatus } from './LoadStatus';
import { TraceSummaryPanel } from './TraceSummaryPanel';
import { useAppStore } from '../state/StoreContext';

export function App() {
  const traceUrl = useAppStore((s) => s.traceUrl);
  return (
    <main className="app">
      <header className="app-header">
        <h1>SpecLab</h1>
        <p className="muted">
          Mixture-of-Experts routing traces · <span data-testid="trace-url">{traceUrl}</span>
        </p>
      </header>
      <LoadStatus />
      <TraceSummaryPanel />
      <GpuStatus />
    </main>
  );
}
