package io.zswapd.config;

import static io.zswapd.config.ZswapdSettings.PAGE_SIZE;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One entry of {@code zswapd.exports}: a block device served over NBD (a zram device) and, in
 * embedded mode, a namespace (a zswap swap type).
 *
 * <pre>{@code
 * ExportSettings swap0 = ZswapdSettings.load().export("swap0").orElseThrow();
 * long pages = swap0.pages();   // 1,048,576 for the default 4 GiB
 * }</pre>
 *
 * @param name        1..64 characters of {@code [A-Za-z0-9._-]}, unique among exports
 * @param sizeBytes   device size, a positive multiple of the page size, at most 2^50 bytes
 * @param readOnly    whether writes, trims and write-zeroes are refused
 * @param backingFile where cold pages are written back past the pool limit; empty for none
 * @param backingSizeBytes most bytes the backing file may grow to, a positive multiple of the page
 *                    size; empty for unlimited. Only set together with {@code backingFile}
 * @param recompressor the second codec stored pages are compressed again with
 *                    ({@code pool.recompress}), not the pool's compressor; empty for none
 * @param recompressionLevel its level; empty means the codec's own default
 * @param placement   where the export's tree shards live: in this process, or on the cluster's
 *                    memory nodes ({@code cluster.role = front})
 */
public record ExportSettings(
    String name,
    long sizeBytes,
    boolean readOnly,
    Optional<Path> backingFile,
    OptionalLong backingSizeBytes,
    Optional<Compressor> recompressor,
    OptionalInt recompressionLevel,
    Placement placement) {

  /** Where an export's tree shards live. */
  public enum Placement {
    /** In this process's pool (the default). */
    LOCAL,
    /** On the cluster's memory nodes, one tree shard per sharded entity ({@code cluster.role = front}). */
    CLUSTER
  }

  private static final long MAX_SIZE = 1L << 50;
  private static final List<String> FIELDS = List.of("name", "size", "read-only", "backing-file", "backing-size",
      "recompressor", "recompression-level", "placement");
  private static final String ENTRY =
      "{ name = \"swap0\", size = 4 GiB, read-only = false, backing-file = null, backing-size = null }";

  public ExportSettings {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(backingFile, "backingFile");
    Objects.requireNonNull(backingSizeBytes, "backingSizeBytes");
    Objects.requireNonNull(recompressor, "recompressor");
    Objects.requireNonNull(recompressionLevel, "recompressionLevel");
    Objects.requireNonNull(placement, "placement");
  }

  /** An export without a second codec. */
  public ExportSettings(String name, long sizeBytes, boolean readOnly, Optional<Path> backingFile,
      OptionalLong backingSizeBytes) {
    this(name, sizeBytes, readOnly, backingFile, backingSizeBytes, Optional.empty(), OptionalInt.empty(),
        Placement.LOCAL);
  }

  /** The device size in pages of {@link ZswapdSettings#PAGE_SIZE} bytes. */
  public long pages() {
    return sizeBytes / PAGE_SIZE;
  }

  static List<ExportSettings> readAll(Section zswapd, Compressor poolCompressor, ClusterSettings cluster) {
    String listRule = "must be a list of at least one export " + ENTRY
        + " (an empty list only on a memory node: cluster.role = memory)";
    List<Section> entries = zswapd.objects("exports", listRule, "export", ENTRY);
    if (entries.isEmpty() && cluster.role() != ClusterSettings.Role.MEMORY) {
      throw zswapd.invalid("exports", listRule);
    }
    List<ExportSettings> exports = new ArrayList<>(entries.size());
    Map<String, Integer> firstUse = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      Section entry = entries.get(i);
      ExportSettings export = read(entry);
      if (export.recompressor().isPresent() && export.recompressor().get() == poolCompressor) {
        // the entry records which codec wrote a page, not at which level: the two must differ
        throw entry.invalid("recompressor", "is the pool's compressor (" + poolCompressor.configName()
            + "); a second codec must be another one: " + Compressor.allowedNames());
      }
      Integer first = firstUse.putIfAbsent(export.name(), i);
      if (first != null) {
        String firstKey = zswapd.key("exports") + "[" + first + "]";
        throw entry.invalid("name",
            "duplicate export name, also used by " + firstKey + "; names must be unique");
      }
      refuseSharedBackingFile(zswapd, entry, export, exports);
      if (export.placement() == Placement.CLUSTER) {
        checkClusterPlacement(entry, export, cluster);
      }
      exports.add(export);
    }
    return exports;
  }

  /**
   * Two exports writing one file would overwrite each other's slots. Paths are compared as
   * written, made absolute and normalised; the same file reached through different paths (a
   * link) is refused when the files are opened.
   */
  private static void refuseSharedBackingFile(Section zswapd, Section entry, ExportSettings export,
      List<ExportSettings> earlier) {
    if (export.backingFile().isEmpty()) {
      return;
    }
    Path file = export.backingFile().get().toAbsolutePath().normalize();
    for (int i = 0; i < earlier.size(); i++) {
      ExportSettings other = earlier.get(i);
      if (other.backingFile().map(f -> f.toAbsolutePath().normalize().equals(file)).orElse(false)) {
        throw entry.invalid("backing-file", "export \"" + export.name() + "\" and export \"" + other.name() + "\" ("
            + zswapd.key("exports") + "[" + i + "]) name one backing file " + file
            + "; each export needs a file of its own");
      }
    }
  }

  /**
   * A clustered export needs a front node, and (for now) no second codec: the remote shards do
   * not recompress yet (docs/CLUSTER.md). Its backing file, if any, keeps a copy of every page.
   */
  private static void checkClusterPlacement(Section entry, ExportSettings export, ClusterSettings cluster) {
    if (cluster.role() != ClusterSettings.Role.FRONT) {
      throw entry.invalid("placement", "cluster placement needs zswapd.cluster.role = front (it is "
          + cluster.role().configName() + "); or placement = local");
    }
    if (export.recompressor().isPresent()) {
      throw entry.invalid("recompressor", "not supported with placement = cluster yet (remote shards do not "
          + "recompress); remove recompressor or use placement = local");
    }
  }

  private static ExportSettings read(Section entry) {
    // a misspelt optional field ("readonly") would otherwise silently leave a device writable
    entry.onlyFields("export", FIELDS);
    String name = entry.entryName();
    String sizeRule = "must be a positive multiple of 4 KiB, at most 2^50 bytes (1 PiB)";
    long size = entry.bytes("size", sizeRule);
    if (size <= 0 || size > MAX_SIZE || size % PAGE_SIZE != 0) {
      throw entry.invalid("size", sizeRule);
    }
    boolean readOnly = entry.has("read-only") && entry.bool("read-only", "must be true or false");
    Optional<Path> backingFile = backingFile(entry);
    OptionalLong backingSize = backingSize(entry);
    // a limit on a file that does not exist is a mistake (a forgotten or misplaced backing-file),
    // not something to ignore: the user expects pages to go somewhere past the pool limit
    if (backingSize.isPresent() && backingFile.isEmpty()) {
      throw entry.invalid("backing-size", "needs backing-file; set backing-file too, or remove backing-size");
    }
    Optional<Compressor> recompressor = recompressor(entry);
    OptionalInt level = recompressor.isPresent()
        ? PoolSettings.level(entry, "recompression-level", recompressor.get())
        : OptionalInt.empty();
    if (recompressor.isEmpty() && entry.has("recompression-level")
        && !"default".equals(entry.object().get("recompression-level").unwrapped())) {
      throw entry.invalid("recompression-level", "needs recompressor; set recompressor too, or remove the level");
    }
    Placement placement = Placement.LOCAL;
    if (entry.has("placement")) {
      String rule = "must be local or cluster";
      placement = switch (entry.string("placement", rule)) {
        case "local" -> Placement.LOCAL;
        case "cluster" -> Placement.CLUSTER;
        default -> throw entry.invalid("placement", rule);
      };
    }
    return new ExportSettings(name, size, readOnly, backingFile, backingSize, recompressor, level, placement);
  }

  private static Optional<Compressor> recompressor(Section entry) {
    if (!entry.has("recompressor")) {
      return Optional.empty();
    }
    String rule = "unknown codec; allowed: " + Compressor.allowedNames() + ", or null for none";
    return Optional.of(Compressor.byName(entry.string("recompressor", rule))
        .orElseThrow(() -> entry.invalid("recompressor", rule)));
  }

  private static OptionalLong backingSize(Section entry) {
    if (!entry.has("backing-size")) {
      return OptionalLong.empty();
    }
    String rule = "must be a positive multiple of 4 KiB, or null for unlimited";
    long bytes = entry.bytes("backing-size", rule);
    if (bytes <= 0 || bytes % PAGE_SIZE != 0) {
      throw entry.invalid("backing-size", rule);
    }
    return OptionalLong.of(bytes);
  }

  private static Optional<Path> backingFile(Section entry) {
    if (!entry.has("backing-file")) {
      return Optional.empty();
    }
    String rule = "must be a file path, or null for none";
    String text = entry.string("backing-file", rule);
    if (text.isBlank()) {
      throw entry.invalid("backing-file", rule);
    }
    try {
      return Optional.of(Path.of(text));
    } catch (InvalidPathException e) {
      throw entry.invalid("backing-file", rule, e);
    }
  }
}
