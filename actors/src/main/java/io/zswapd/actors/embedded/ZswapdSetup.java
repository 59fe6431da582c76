package io.zswapd.actors.embedded;

import akka.actor.setup.Setup;
import io.zswapd.actors.support.SpawnHook;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.config.ExportSettings;
import java.io.IOException;
import java.util.Objects;

/**
 * What an application or a test hands the engine in place of its defaults: the backing-file
 * I/O of each export instead of opening the configured files (how tests gate or fail backing
 * writes deterministically, and how an embedding application can put backing pages somewhere
 * other than a plain file), and a {@link SpawnHook} the engine applies to every actor it
 * spawns (how race tests hold or fail messages between engine actors).
 *
 * <pre>{@code
 * ActorSystem.create(guardian, "app", BootstrapSetup.create(config).and(new ZswapdSetup(export -> myIo)));
 * ActorSystem.create(guardian, "test", BootstrapSetup.create(config).and(ZswapdSetup.of(gatedActors)));
 * }</pre>
 */
public final class ZswapdSetup extends Setup {
  /** Opens the backing I/O of an export that has a {@code backing-file}. */
  @FunctionalInterface
  public interface BackingIoFactory {
    BackingIo open(ExportSettings export) throws IOException;
  }

  private final BackingIoFactory backingIo;
  private final SpawnHook spawnHook;

  /** Backing I/O from {@code backingIo}; actors spawned as they are. */
  public ZswapdSetup(BackingIoFactory backingIo) {
    this(Objects.requireNonNull(backingIo, "backingIo"), SpawnHook.NONE);
  }

  private ZswapdSetup(BackingIoFactory backingIo, SpawnHook spawnHook) {
    this.backingIo = backingIo;
    this.spawnHook = Objects.requireNonNull(spawnHook, "spawnHook");
  }

  /** The configured backing files, opened as usual; every engine actor wrapped by {@code spawnHook}. */
  public static ZswapdSetup of(SpawnHook spawnHook) {
    return new ZswapdSetup(null, spawnHook);
  }

  /** This setup with every engine actor wrapped by {@code spawnHook}. */
  public ZswapdSetup withSpawnHook(SpawnHook spawnHook) {
    return new ZswapdSetup(backingIo, spawnHook);
  }

  /** The backing I/O factory, or null when the configured files are opened. */
  public BackingIoFactory backingIo() {
    return backingIo;
  }

  public SpawnHook spawnHook() {
    return spawnHook;
  }
}
