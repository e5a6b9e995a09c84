/**
 * Tabs per the WAI-ARIA pattern: a tablist with roving tabindex, Left/Right/Home/End move between
 * tabs (and select them), each panel is labelled by its tab. Panels render when first selected and
 * again on every selection, so they always show fresh data.
 */
import { h, uid } from './dom.ts';

export interface TabItem {
  id: string;
  label: string;
  render(panel: HTMLElement): void | Promise<void>;
}

export interface Tabs {
  element: HTMLElement;
  select(id: string, options?: { focus?: boolean }): void;
}

export function createTabs(
  label: string,
  items: TabItem[],
  initial: string,
  onChange?: (id: string) => void,
): Tabs {
  const prefix = uid('tabs');
  const tabs = new Map<string, HTMLButtonElement>();
  const panels = new Map<string, HTMLElement>();
  const list = h('div', { role: 'tablist', 'aria-label': label, class: 'tablist' });
  const container = h('div', { class: 'tabs' }, list);

  for (const item of items) {
    const tab = h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `${prefix}-tab-${item.id}`,
        'aria-controls': `${prefix}-panel-${item.id}`,
        'aria-selected': 'false',
        tabindex: -1,
        'data-tab': item.id,
        onclick: () => select(item.id),
      },
      item.label,
    );
    const panel = h('div', {
      role: 'tabpanel',
      id: `${prefix}-panel-${item.id}`,
      'aria-labelledby': tab.id,
      tabindex: 0,
      class: 'tabpanel',
      hidden: true,
    });
    tabs.set(item.id, tab);
    panels.set(item.id, panel);
    list.append(tab);
    container.append(panel);
  }

  list.addEventListener('keydown', (event) => {
    const ids = items.map((item) => item.id);
    const currentIndex = ids.indexOf((event.target as HTMLElement).dataset.tab ?? '');
    if (currentIndex < 0) return;
    let next: number | null = null;
    if (event.key === 'ArrowRight') next = (currentIndex + 1) % ids.length;
    if (event.key === 'ArrowLeft') next = (currentIndex - 1 + ids.length) % ids.length;
    if (event.key === 'Home') next = 0;
    if (event.key === 'End') next = ids.length - 1;
    if (next === null) return;
    event.preventDefault();
    select(ids[next]!, { focus: true });
  });

  function select(id: string, options: { focus?: boolean } = {}) {
    const item = items.find((candidate) => candidate.id === id) ?? items[0]!;
    for (const [tabId, tab] of tabs) {
      const selected = tabId === item.id;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      panels.get(tabId)!.hidden = !selected;
    }
    const panel = panels.get(item.id)!;
    void item.render(panel);
    if (options.focus) tabs.get(item.id)!.focus();
    onChange?.(item.id);
  }

  select(initial);
  return { element: container, select };
}
