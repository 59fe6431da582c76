package io.zswapd.bridge.nbd;

/**
 * What an NBD server's connections hold at one moment ({@link NbdServer#budget()}).
 *
 * @param admitted  connections being served (at most {@code nbd.max-connections})
 * @param available bytes of {@code nbd.buffer-memory} granted to no connection
 * @param waiting   connections waiting for credit, not reading meanwhile
 */
public record ConnectionBudget(int admitted, long available, int waiting) {}
