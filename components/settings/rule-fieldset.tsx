'use client';

import { useId } from 'react';
import { FIELD_INFO, fieldLabel, SECTION_LABEL } from './rule-fields';

interface Props {
  section: string;
  values: Record<string, unknown>;
  saved: Record<string, unknown> | undefined;
  errors: Record<string, string>;
  errorClasses: readonly string[];
  onChange: (key: string, value: unknown) => void;
}

/** One rule's thresholds: a number input per number, a checkbox per switch, checkboxes for a list of classes. */
export function RuleFieldset({ section, values, saved, errors, errorClasses, onChange }: Props) {
  const id = useId();
  const enabled = values.enabled;
  const fields = Object.entries(values).filter(([k]) => k !== 'enabled');
  return (
    <fieldset className={`rule-fieldset${enabled === false ? ' is-disabled' : ''}`} data-section={section}>
      <legend>
        {SECTION_LABEL[section] ?? section}
        {typeof enabled === 'boolean' && (
          <label className="rule-toggle">
            <input type="checkbox" checked={enabled} onChange={(e) => onChange('enabled', e.target.checked)} /> on
          </label>
        )}
      </legend>
      {errors[`${section}.enabled`] && <p className="field-error" role="alert">{errors[`${section}.enabled`]}</p>}
      <div className="rule-fields">
        {fields.map(([key, value]) => {
          const path = `${section}.${key}`;
          const inputId = `${id}-${key}`;
          const error = errors[path];
          const changed = saved !== undefined && JSON.stringify(saved[key]) !== JSON.stringify(value);
          const help = FIELD_INFO[path]?.help;
          return (
            <div key={key} className={`rule-field${changed ? ' is-changed' : ''}${error ? ' has-error' : ''}`} data-field={path}>
              <label htmlFor={inputId} title={help}>
                {fieldLabel(section, key)}
              </label>
              {Array.isArray(value) ? (
                <div id={inputId} role="group" aria-label={fieldLabel(section, key)} className="check-group">
                  {[...new Set([...errorClasses, ...value.map(String)])].map((option) => (
                    <label key={option}>
                      <input
                        type="checkbox"
                        checked={value.includes(option)}
                        onChange={(e) => onChange(key, e.target.checked ? [...value, option] : value.filter((v) => v !== option))}
                      />{' '}
                      {option}
                    </label>
                  ))}
                </div>
              ) : typeof value === 'boolean' ? (
                <input id={inputId} type="checkbox" checked={value} onChange={(e) => onChange(key, e.target.checked)} aria-invalid={Boolean(error)} />
              ) : (
                <input
                  id={inputId}
                  type="number"
                  step="any"
                  inputMode="decimal"
                  value={typeof value === 'number' && Number.isFinite(value) ? value : ''}
                  // Sent as typed: an empty or out-of-range value is the server's to refuse, naming this field.
                  onChange={(e) => onChange(key, e.target.value === '' ? null : Number(e.target.value))}
                  aria-invalid={Boolean(error)}
                  aria-describedby={error ? `${inputId}-error` : undefined}
                />
              )}
              {error && (
                <span className="field-error" id={`${inputId}-error`} role="alert">
                  {error}
                </span>
              )}
            </div>
          );
        })}
      </div>
    </fieldset>
  );
}
