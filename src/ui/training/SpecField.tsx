import { useEffect, useRef, useState } from 'react';
import { keyText, type UrlKeyName } from '../../core/experiment/url';
import { useNotebook } from '../../state/StoreContext';
import { fieldErrorsStore, friendlyFieldMessage } from './fieldErrors';

export interface FieldDef {
  key: UrlKeyName;
  label: string;
  /** How the value is edited; the text rules and bounds are the experiment schema's (same as in a link). */
  input?: 'text' | 'select' | 'checkbox';
  options?: readonly string[];
  /** The text of an option in the menu (the value stays the link's). */
  optionLabel?: (option: string) => string;
}

/**
 * One experiment field as a form control. Typed text is checked on every keystroke exactly as a link's value
 * would be; a refused value stays in the box with the reason beside it, and the experiment keeps the last good one.
 */
export function SpecField({ def, defaultText }: { def: FieldDef; defaultText: string }) {
  const value = useNotebook((s) => keyText(s.spec, def.key));
  const setField = useNotebook((s) => s.setField);
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const commit = (text: string) => {
    const refused = setField(def.key, text);
    setError(refused === null ? null : friendlyFieldMessage(refused));
  };
  // Run is disabled while a box holds refused text (the experiment would run on the last good value instead).
  useEffect(() => {
    fieldErrorsStore.getState().set(def.key, def.label, error !== null);
    return () => fieldErrorsStore.getState().set(def.key, def.label, false);
  }, [def.key, def.label, error]);
  // A value set elsewhere (a link, Open of a kept run) replaces refused text in the box (not while typing in it).
  const editing = useRef(false);
  useEffect(() => {
    if (editing.current) return;
    setDraft(null);
    setError(null);
  }, [value]);
  const id = `field-${def.key}`;
  let control;
  if (def.input === 'checkbox') {
    control = <input id={id} type="checkbox" data-testid={id} checked={value === '1'} onChange={(e) => commit(e.currentTarget.checked ? '1' : '0')} />;
  } else if (def.input === 'select') {
    control = (
      <select id={id} data-testid={id} value={value} onChange={(e) => commit(e.currentTarget.value)}>
        {def.options?.map((o) => (
          <option key={o} value={o}>
            {def.optionLabel ? def.optionLabel(o) : o}
          </option>
        ))}
      </select>
    );
  } else {
    control = (
      <input
        id={id}
        type="text"
        inputMode="decimal"
        data-testid={id}
        value={draft ?? value}
        size={8}
        maxLength={40}
        aria-invalid={error !== null}
        onChange={(e) => {
          setDraft(e.currentTarget.value);
          commit(e.currentTarget.value);
        }}
        onFocus={() => (editing.current = true)}
        onBlur={() => {
          editing.current = false;
          if (error === null) setDraft(null);
        }}
      />
    );
  }
  return (
    <div className="spec-field">
      <label htmlFor={id}>{def.label}</label>
      {control}
      <span className="muted small">{value === defaultText ? 'default' : `default ${defaultText}`}</span>
      {error && (
        <span className="field-error" role="alert" data-testid={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}
