'use client';

import {
  type HTMLAttributes,
  type ReactNode,
  type Ref,
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';

export interface VirtualListHandle {
  /** Scrolls the minimum amount needed to bring row `index` fully into view. */
  scrollIntoView(index: number, align?: 'nearest' | 'center'): void;
  element(): HTMLDivElement | null;
}

interface VirtualListProps extends Omit<HTMLAttributes<HTMLDivElement>, 'children'> {
  count: number;
  rowHeight: number;
  /** Rendered above the rows inside the scroller, sticky at the top (column headers). */
  header?: ReactNode;
  headerHeight?: number;
  /** Rows rendered beyond the viewport on each side. */
  overscan?: number;
  /**
   * Rows known to exist but not here yet (the rest of a tree being read): the list is as tall as if they were,
   * so it scrolls to where they will be, and shows a placeholder in their place until they come.
   */
  pending?: number;
  /** Must return one element per row; it is wrapped in nothing, so it must position itself via `top`. */
  renderRow: (index: number, top: number) => ReactNode;
  /** Minimum width of the row content, so narrow viewports scroll horizontally instead of squashing. */
  minContentWidth?: number;
  handleRef?: Ref<VirtualListHandle>;
}

/**
 * A small fixed-row-height windowed list: only the rows in (or near) the viewport exist in the DOM,
 * so a 10,000-span tree costs the same to render and scroll as a 50-span one.
 */
export function VirtualList({
  count,
  rowHeight,
  header,
  headerHeight = 0,
  overscan = 12,
  pending = 0,
  renderRow,
  minContentWidth,
  handleRef,
  style,
  ...rest
}: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setViewport(el.clientHeight);
    // Rows rendered into the page's HTML can be scrolled before its scripts run, and that scroll event is gone.
    setScrollTop(el.scrollTop);
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Scroll events fire faster than frames; coalesce to one state update per frame.
  const frame = useRef(0);
  const onScroll = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (ref.current) setScrollTop(ref.current.scrollTop);
    });
  }, []);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  useImperativeHandle(
    handleRef,
    () => ({
      element: () => ref.current,
      scrollIntoView(index, align = 'nearest') {
        const el = ref.current;
        if (!el || index < 0 || index >= count) return;
        const top = headerHeight + index * rowHeight;
        const visibleTop = el.scrollTop + headerHeight;
        const visibleBottom = el.scrollTop + el.clientHeight;
        if (align === 'center') {
          el.scrollTop = Math.max(0, top - (el.clientHeight - headerHeight) / 2);
        } else if (top < visibleTop) {
          el.scrollTop = top - headerHeight;
        } else if (top + rowHeight > visibleBottom) {
          el.scrollTop = top + rowHeight - el.clientHeight;
        }
        setScrollTop(el.scrollTop);
      },
    }),
    [count, headerHeight, rowHeight],
  );

  // If the list shrank (collapse) the browser clamps scrollTop; clamp our copy too.
  const height = (count + pending) * rowHeight;
  const maxScroll = Math.max(0, headerHeight + height - viewport);
  const effectiveTop = Math.min(scrollTop, maxScroll);
  const bodyTop = Math.max(0, effectiveTop - headerHeight);
  const first = Math.max(0, Math.floor(bodyTop / rowHeight) - overscan);
  const last = Math.min(count + pending, Math.ceil((bodyTop + viewport) / rowHeight) + overscan);

  const rows: ReactNode[] = [];
  for (let i = first; i < Math.min(last, count); i++) rows.push(renderRow(i, i * rowHeight));
  // One placeholder per pending row in view: a list that only grew taller would look empty where the user scrolled.
  for (let i = Math.max(first, count); i < last; i++) {
    rows.push(<div key={`pending-${i}`} className="row-pending" aria-hidden="true" style={{ top: i * rowHeight, height: rowHeight }} />);
  }

  return (
    <div ref={ref} onScroll={onScroll} style={{ overflow: 'auto', position: 'relative', ...style }} {...rest}>
      <div style={{ minWidth: minContentWidth }}>
        {header}
        <div style={{ position: 'relative', height }}>{rows}</div>
      </div>
    </div>
  );
}
