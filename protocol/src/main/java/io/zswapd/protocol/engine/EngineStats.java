package io.zswapd.protocol.engine;

import java.util.List;
import java.util.Optional;

/** A snapshot of every counter the engine keeps. */
public record EngineStats(PoolStats pool, List<ExportStats> exports, List<SizeClassStats> classes) {
  public EngineStats {
    exports = List.copyOf(exports);
    classes = List.copyOf(classes);
  }

  public Optional<ExportStats> export(String name) {
    return exports.stream().filter(e -> e.export().equals(name)).findFirst();
  }

  /** Sum of compr_data_size over all exports. */
  public long comprDataSize() {
    return exports.stream().mapToLong(ExportStats::comprDataSize).sum();
  }
}
