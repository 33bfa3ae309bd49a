'use client';

import { useSettingsFacts } from '@/lib/client/use-settings';
import { useRules } from '@/lib/client/use-rules';
import { useNow } from '../use-now';
import { FactsPanel } from './facts-panel';
import { RulesEditor } from './rules-editor';

export function SettingsPage() {
  const facts = useSettingsFacts();
  const rules = useRules();
  const now = useNow(10_000);
  return (
    <div className="page console-page settings-page">
      <div className="toolbar">
        <h1 className="page-title">Settings</h1>
      </div>

      {facts.isError ? (
        <div className="panel error-state" role="alert">
          <h2>Could not load this Canopy&apos;s settings</h2>
          <p className="mono">{facts.error.message}</p>
        </div>
      ) : facts.isPending ? (
        <div className="panel loading-state">Loading settings…</div>
      ) : (
        <FactsPanel facts={facts.data} now={now} />
      )}

      <section className="console-section" aria-labelledby="rules-h">
        <h2 id="rules-h" className="section-title">
          Detector thresholds
        </h2>
        <p className="muted section-help">
          Every rule&apos;s thresholds, applied on the detector&apos;s next tick once saved. A change is first replayed over last
          week&apos;s stored trees, so you see which trees it would newly flag or stop flagging.
        </p>
        {rules.isError ? (
          <div className="panel error-state" role="alert">
            <h2>Could not load the rule settings</h2>
            <p className="mono">{rules.error.message}</p>
          </div>
        ) : rules.isPending ? (
          <div className="panel loading-state">Loading rule settings…</div>
        ) : (
          <RulesEditor saved={rules.data} errorClasses={facts.data?.detector.errorClasses ?? []} />
        )}
      </section>
    </div>
  );
}
