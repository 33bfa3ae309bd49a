/**
 * Runs `fn` where instrumentations record nothing, outside the caller's context: the event stream's sockets and
 * timers live as long as the process and must not keep the span that happened to open them.
 */
export declare function untraced<T>(fn: () => T): T;
