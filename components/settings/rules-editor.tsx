'use client';

import { useState } from 'react';
import { DETECTOR_RULES, type AutoKillPolicy } from '@/lib/domain';
import { ApiError } from '@/lib/client/fetch-json';
import { useBacktest, useSaveRules, type BacktestResult, type DetectorSettings } from '@/lib/client/use-rules';
import { AutoKillTable } from './auto-kill-table';
import { BacktestReview } from './backtest-review';
import { RuleFieldset } from './rule-fieldset';
import { changedFields, changedRules, fieldErrors, RULE_SECTIONS, thresholdsChanged, type SettingsDraft } from './rule-fields';

type Review = { kind: 'backtest'; result: BacktestResult } | { kind: 'policies' } | { kind: 'backtest-failed'; message: string };

/**
 * The detector's thresholds and auto-kill policies as one draft. Saving is two steps: a threshold change is first
 * replayed over last week's trees (the backtest), and saved once its outcome has been seen. A 400 from either
 * step puts each message next to the field it names.
 */
export function RulesEditor({ saved, errorClasses }: { saved: DetectorSettings; errorClasses: readonly string[] }) {
  const savedDraft = saved as unknown as SettingsDraft;
  const [draft, setDraft] = useState<SettingsDraft>(() => structuredClone(savedDraft));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [review, setReview] = useState<Review | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const backtest = useBacktest();
  const save = useSaveRules();

  const changed = changedFields(savedDraft, draft);
  const busy = backtest.isPending || save.isPending;
  const general = errors[''];

  const edit = (section: string, key: string, value: unknown) => {
    setDraft((d) => ({ ...d, [section]: { ...d[section], [key]: value } }));
    setReview(null); // a review is of the draft it was made for
    setNotice(null);
    setErrors((e) => {
      const { [`${section}.${key}`]: _gone, ...rest } = e;
      return rest;
    });
  };

  /** A 400 names fields; anything else is said once, above the buttons. */
  const showError = (err: Error) => setErrors(err instanceof ApiError && err.status === 400 ? fieldErrors(err.message) : { '': err.message });

  const startReview = () => {
    setErrors({});
    setNotice(null);
    if (!thresholdsChanged(changed)) return setReview({ kind: 'policies' });
    backtest.mutate(draft as unknown as DetectorSettings, {
      onSuccess: (result) => setReview({ kind: 'backtest', result }),
      onError: (err) => (err instanceof ApiError && err.status === 400 ? showError(err) : setReview({ kind: 'backtest-failed', message: err.message })),
    });
  };

  const commit = () => {
    save.mutate(draft as unknown as DetectorSettings, {
      onSuccess: (next) => {
        setDraft(structuredClone(next as unknown as SettingsDraft));
        setReview(null);
        setNotice('Saved. The detector applies the new settings on its next tick.');
      },
      onError: (err) => {
        setReview(null);
        showError(err);
      },
    });
  };

  return (
    <div className="rules-editor">
      <div className="rule-grid">
        {RULE_SECTIONS.filter((s) => draft[s]).map((section) => (
          <RuleFieldset
            key={section}
            section={section}
            values={draft[section]}
            saved={savedDraft[section]}
            errors={errors}
            errorClasses={errorClasses}
            onChange={(key, value) => edit(section, key, value)}
          />
        ))}
      </div>

      {draft.autoKill && (
        <section className="console-section" aria-labelledby="auto-kill-h">
          <h3 id="auto-kill-h" className="section-title">
            Auto-kill policies
          </h3>
          <p className="muted section-help">
            What Canopy kills by itself when an alert is raised or escalated. <strong>Observe</strong> records on the alert what would
            have been killed; <strong>enforce</strong> kills it. Promote a rule to enforce once its observed kills look right.
          </p>
          <AutoKillTable
            policies={draft.autoKill as Record<string, AutoKillPolicy>}
            saved={savedDraft.autoKill as Record<string, AutoKillPolicy> | undefined}
            errors={errors}
            onChange={(rule, policy) => edit('autoKill', rule, policy)}
          />
        </section>
      )}

      <div className="save-bar" role="region" aria-label="Save rule settings">
        <span className="save-bar-status" aria-live="polite">
          {notice ? (
            <span className="ok-text">{notice}</span>
          ) : changed.length === 0 ? (
            <span className="muted">No changes</span>
          ) : (
            <>
              {changed.length} change{changed.length === 1 ? '' : 's'}: <span className="mono">{changed.slice(0, 4).join(', ')}{changed.length > 4 ? ', …' : ''}</span>
            </>
          )}
        </span>
        {general && (
          <span className="field-error" role="alert">
            {general}
          </span>
        )}
        <button type="button" className="btn" disabled={changed.length === 0 || busy} onClick={() => (setDraft(structuredClone(savedDraft)), setErrors({}), setReview(null))}>
          Discard
        </button>
        <button type="button" className="btn btn-primary" disabled={changed.length === 0 || busy} onClick={startReview}>
          {backtest.isPending ? 'Backtesting last week…' : 'Review and save'}
        </button>
      </div>

      {review && (
        <section className="panel review-panel" aria-labelledby="review-h">
          <h3 id="review-h" className="section-title">
            {review.kind === 'backtest' ? 'Before saving: last week’s trees under the new thresholds' : 'Before saving'}
          </h3>
          {review.kind === 'backtest' && <BacktestReview result={review.result} rules={changedRules(changed, DETECTOR_RULES)} />}
          {review.kind === 'policies' && <p>Only auto-kill policies changed: there are no thresholds to backtest.</p>}
          {review.kind === 'backtest-failed' && (
            <p className="banner banner-error" role="alert">
              The backtest did not run: {review.message}. You can try again, or save without it.
            </p>
          )}
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={() => setReview(null)} disabled={save.isPending}>
              Keep editing
            </button>
            <button type="button" className="btn btn-primary" onClick={commit} disabled={save.isPending}>
              {save.isPending ? 'Saving…' : review.kind === 'backtest-failed' ? 'Save without the backtest' : 'Save'}
            </button>
          </div>
        </section>
      )}
    </div>
  );
}
