import { useId, useState, type FormEvent } from "react";

import { ApiError } from "../api";

export interface Field {
  name: string;
  label: string;
  type?: "text" | "textarea" | "money" | "url";
  placeholder?: string;
  required?: boolean;
  initial?: string;
}

/**
 * InlineForm is a small form that posts to the API: labelled fields, the
 * problem JSON's message shown beside the field it names, and a busy state.
 * The result arrives over the WebSocket like anyone else's, so the form only
 * clears itself.
 */
export function InlineForm(props: {
  title: string;
  fields: Field[];
  submit: string;
  onSubmit: (values: Record<string, string>) => Promise<unknown>;
  collapsed?: boolean;
}) {
  const uid = useId();
  const initial = () => Object.fromEntries(props.fields.map((f) => [f.name, f.initial ?? ""]));
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const [open, setOpen] = useState(!props.collapsed);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit(values);
      setValues(initial());
    } catch (err) {
      if (err instanceof ApiError) setError({ message: err.detail ?? err.title, field: err.field });
      else setError({ message: String(err) });
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return (
      <button type="button" className="btn btn-ghost btn-small form-toggle" aria-expanded="false" onClick={() => setOpen(true)}>
        {props.title}
      </button>
    );
  }
  return (
    <form className="inline-form" onSubmit={onSubmit} aria-label={props.title} noValidate={false}>
      {props.fields.map((f) => {
        const id = `${uid}-${f.name}`;
        const invalid = error?.field === f.name;
        const common = {
          id,
          name: f.name,
          value: values[f.name] ?? "",
          placeholder: f.placeholder,
          required: f.required,
          "aria-invalid": invalid || undefined,
          "aria-describedby": invalid ? `${uid}-error` : undefined,
          onChange: (e: { target: { value: string } }) => setValues((v) => ({ ...v, [f.name]: e.target.value })),
        };
        return (
          <div className="field" key={f.name}>
            <label htmlFor={id}>{f.label}</label>
            {f.type === "textarea" ? (
              <textarea rows={3} {...common} />
            ) : (
              <input
                type={f.type === "url" ? "url" : "text"}
                inputMode={f.type === "money" ? "decimal" : undefined}
                pattern={f.type === "money" ? "\\d{1,10}(\\.\\d{1,2})?" : undefined}
                autoComplete="off"
                {...common}
              />
            )}
          </div>
        );
      })}
      {error && (
        <p className="form-error" role="alert" id={`${uid}-error`}>
          {error.message}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="btn" disabled={busy}>
          {busy ? "Sending…" : props.submit}
        </button>
        {props.collapsed && (
          <button type="button" className="btn btn-ghost" onClick={() => setOpen(false)}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
