import { useDeferredValue } from 'react';
import type { Panel } from '../core/experiment/spec';
import { useNotebook } from '../state/StoreContext';
import { CopyLink } from './CopyLink';
import { DatasetFilter } from './controls/DatasetFilter';
import { GpuStatus } from './GpuStatus';
import { useAnalysis } from './hooks';
import { LinkProblems } from './LinkProblems';
import { DropZone } from './load/DropZone';
import { SourceBar } from './load/SourceBar';
import { CollectPanel } from './collect/CollectPanel';
import { CoactivationPanel } from './panels/CoactivationPanel';
import { OverviewPanel } from './panels/OverviewPanel';
import { ReusePanel } from './panels/ReusePanel';
import { TokenView } from './panels/TokenView';
import { RunsSection } from './runs/RunsSection';
import { PrefsBar } from './shortcuts/Shortcuts';
import { AnalysisStatus } from './progress/AnalysisStatus';
import { TrainingPanel } from './panels/TrainingPanel';
import { TransitionsPanel } from './panels/TransitionsPanel';
import { Tabs } from './Tabs';

const VIEWS: Record<Panel, () => React.JSX.Element | null> = {
  overview: OverviewPanel,
  coactivation: CoactivationPanel,
  transitions: TransitionsPanel,
  reuse: ReusePanel,
  tokens: TokenView,
  training: TrainingPanel,
};

/** The notebook shell: where traces come from, what went wrong, the views, and the experiment link. */
export function App() {
  // Deferred: a newly chosen view renders as an interruptible transition, keeping the page responsive.
  const panel = useDeferredValue(useNotebook((s) => s.spec.view.panel));
  const ready = useAnalysis() !== null;
  const trace = useNotebook((s) => s.spec.trace);
  const idle = useNotebook((s) => s.current === null && s.loading === null);
  const failed = useNotebook((s) => s.loadError !== null);
  const View = VIEWS[panel];
  return (
    <main className="app">
      <header className="app-header">
        <h1>SpecLab</h1>
        <p className="muted">Mixture-of-Experts routing traces and expert speculation</p>
        <PrefsBar />
        <CopyLink />
      </header>
      <DropZone />
      <LinkProblems />
      <SourceBar />
      <CollectPanel />
      <AnalysisStatus />
      {ready && (
        <>
          <DatasetFilter />
          <Tabs />
          <View />
          {panel === 'training' && <RunsSection />}
        </>
      )}
      {!ready && idle && !failed && trace.startsWith('local:') && (
        <section className="card" data-testid="reopen-local" role="status">
          <h2>Open {trace.slice('local:'.length)} again</h2>
          <p>
            This notebook showed files from this computer ({trace.slice('local:'.length)}). A page reload or a link cannot carry them: open them again with
            Files… or Folder… above (or drop them on the page) to see the views. The runs kept in this browser are below.
          </p>
        </section>
      )}
      {/* Kept runs need no trace set: they stay visible while none is shown (e.g. local files after a reload). */}
      {!ready && idle && <RunsSection />}
      <GpuStatus />
    </main>
  );
}
