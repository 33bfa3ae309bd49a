'use client';

import { ALERT_RULES, POLICY_ACTIONS, POLICY_MODES, type AutoKillPolicy, type PolicyAction } from '@/lib/domain';
import { RULE_LABEL } from '../alerts/alert-labels';

const ACTION_LABEL: Record<PolicyAction, string> = { off: 'Nothing', branch: 'Kill the branch', tree: 'Kill the tree' };

interface Props {
  policies: Record<string, AutoKillPolicy>;
  saved: Record<string, AutoKillPolicy> | undefined;
  errors: Record<string, string>;
  onChange: (rule: string, policy: AutoKillPolicy) => void;
}

/** What Canopy kills by itself per rule and severity; `observe` only records on the alert what it would have killed. */
export function AutoKillTable({ policies, saved, errors, onChange }: Props) {
  const rules = ALERT_RULES.filter((r) => policies[r]);
  return (
    <div className="table-wrap">
      <table className="console-table auto-kill-table">
        <thead>
          <tr>
            <th>Rule</th>
            <th>Mode</th>
            <th>On a warning</th>
            <th>On a critical alert</th>
          </tr>
        </thead>
        <tbody>
          {rules.map((rule) => {
            const p = policies[rule];
            const changed = saved !== undefined && JSON.stringify(saved[rule]) !== JSON.stringify(p);
            const error = errors[`autoKill.${rule}`] ?? errors[`autoKill.${rule}.mode`] ?? errors[`autoKill.${rule}.warning`] ?? errors[`autoKill.${rule}.critical`];
            const enforcing = p.mode === 'enforce' && (p.warning !== 'off' || p.critical !== 'off');
            return (
              <tr key={rule} className={`${changed ? 'is-changed' : ''}${enforcing ? ' is-enforcing' : ''}`} data-policy={rule}>
                <th scope="row">
                  {RULE_LABEL[rule]}
                  {error && <span className="field-error" role="alert">{error}</span>}
                </th>
                <td>
                  <select aria-label={`${RULE_LABEL[rule]}: mode`} value={p.mode} onChange={(e) => onChange(rule, { ...p, mode: e.target.value as AutoKillPolicy['mode'] })}>
                    {POLICY_MODES.map((m) => (
                      <option key={m} value={m}>
                        {m === 'observe' ? 'Observe (record only)' : 'Enforce (kill)'}
                      </option>
                    ))}
                  </select>
                </td>
                {(['warning', 'critical'] as const).map((severity) => (
                  <td key={severity}>
                    <select
                      aria-label={`${RULE_LABEL[rule]}: on ${severity}`}
                      value={p[severity]}
                      onChange={(e) => onChange(rule, { ...p, [severity]: e.target.value as PolicyAction })}
                    >
                      {POLICY_ACTIONS.map((a) => (
                        <option key={a} value={a}>
                          {ACTION_LABEL[a]}
                        </option>
                      ))}
                    </select>
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
