/*
 * The handshake's view of the exports a server offers. The daemon backs it
 * with its configured swap types; tests use ExportCatalog.of(...).
 *
 * The empty name is the spec's "default export". Like nbd-server's default
 * export, an empty name means the first export, unless one is literally named
 * "" (resolve() below). Everything the handshake looks up goes through
 * resolve(), so EXPORT_NAME, INFO and GO agree on what "" means.
 */
package io.zswapd.protocol.nbd;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Exports by name, in a stable order.
 *
 * <pre>{@code
 * ExportCatalog catalog = ExportCatalog.of(ExportInfo.of("swap0", 1L << 30, Nbd.FLAG_SEND_FLUSH));
 * catalog.resolve("");        // swap0: the empty name is the first export
 * }</pre>
 */
public interface ExportCatalog {

    /** The export with exactly this name. */
    Optional<ExportInfo> lookup(String name);

    /** Every export, in the order NBD_OPT_LIST reports them; the first is the default export. */
    List<ExportInfo> list();

    /** {@link #lookup}, except that the empty name falls back to the first export. */
    default Optional<ExportInfo> resolve(String name) {
        Optional<ExportInfo> exact = lookup(name);
        if (exact.isPresent() || !name.isEmpty()) return exact;
        return list().stream().findFirst();
    }

    /** A fixed catalog; names must be unique. */
    static ExportCatalog of(ExportInfo... exports) {
        Map<String, ExportInfo> byName = new LinkedHashMap<>();
        for (ExportInfo e : exports) {
            if (byName.putIfAbsent(e.name(), e) != null) {
                throw new IllegalArgumentException("two exports are named '" + e.name() + "'");
            }
        }
        List<ExportInfo> ordered = List.copyOf(byName.values());
        return new ExportCatalog() {
            @Override
            public Optional<ExportInfo> lookup(String name) {
                return Optional.ofNullable(byName.get(name));
            }

            @Override
            public List<ExportInfo> list() {
                return ordered;
            }
        };
    }
}
