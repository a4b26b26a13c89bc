import { tick } from 'svelte';

/** After a failed submit: focus the first field in error, so its message is read out with it. */
export async function focusFirstError(form: HTMLFormElement | undefined): Promise<void> {
  await tick();
  form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}
