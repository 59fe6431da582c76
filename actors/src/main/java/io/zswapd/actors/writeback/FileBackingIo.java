package io.zswapd.actors.writeback;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * A backing file on disk: positional reads and writes through one {@link FileChannel}, each run
 * on a blocking executor so the store's actor never waits on the disk. Positional I/O does not
 * move a shared file position, so operations on different slots may run in parallel.
 *
 * <pre>{@code
 * Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
 * try (FileBackingIo io = FileBackingIo.open(Path.of("/var/lib/zswapd/swap0.wb"), "swap0", blocking)) {
 *   io.write(0, compressed).toCompletableFuture().join();   // slot offset 0: file position 4096
 * }
 * }</pre>
 *
 * <p><b>Layout.</b> A header of {@value #HEADER_BYTES} bytes says whose file it is; slot offsets
 * (what {@link BackingStore} hands out, from 0) start right after it, so every position this
 * class is given is moved by {@value #HEADER_BYTES} and the store never sees the header. A whole
 * page for the header keeps slots in their 64-byte units from the file's start and never lets a
 * slot share a file-system block with the header. Integers are big-endian.
 *
 * <pre>
 *  offset  size  field
 *       0     8  magic "ZSWAPDBK" (ASCII): this is a zswapd backing file
 *       8     4  format version, 1
 *      12     4  header size in bytes, 4096: the file position of slot offset 0
 *      16    16  instance id of the run that owns the file (a random UUID: high, then low 64 bits)
 *      32     8  when that run opened the file, milliseconds since the epoch
 *      40     8  process id of that run
 *      48     1  n, the length of the export's name in bytes (UTF-8; names are ASCII, at most 64)
 *      49     n  the export's name
 *    49+n     .. zeros up to 4096
 * </pre>
 *
 * <p><b>Which files it takes.</b> A backing file holds swapped memory, so zswapd only ever writes
 * into a file it made:
 * <ul>
 *   <li>No file at the path: it is created with {@code O_CREAT|O_EXCL|O_NOFOLLOW} and mode 0600
 *       given at creation (never a moment with looser permissions; the umask can only narrow it).
 *   <li>A file that carries a zswapd header (left by a run that crashed) is taken over: it must be
 *       a regular file owned by this process's user with no group or other permissions; its old
 *       contents are worthless, like swap after a reboot, so it is truncated to the header and the
 *       header rewritten for this run.
 *   <li>Anything else is refused with one line naming the file and why: a file without the header
 *       (whatever it holds, including one the user preallocated: zswapd grows its file itself), a
 *       symbolic link (never followed, its target untouched), a directory or device.
 *   <li>The whole file is locked ({@link FileChannel#tryLock()}) before its header is read or
 *       written, so a second daemon, or a second engine in this JVM, naming the same file is
 *       refused rather than writing into slots this one owns.
 * </ul>
 *
 * <p><b>Lifetime.</b> Like a swap partition, the file holds nothing of use once the run is over:
 * its slots mean something only to the entries in memory that name them. {@link #close()}
 * deletes it, but only if the path still names the file this run opened: the same file key
 * (device and inode) and this run's instance id in its header. A file that someone put at the
 * path meanwhile is left alone, and so is a path that was removed; either is logged. It deletes
 * while still holding the lock, so no other run can have taken the file over by then. Nothing is
 * synced to disk: after a crash the contents are worthless anyway.
 */
public final class FileBackingIo implements BackingIo {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FileBackingIo.class);

  /** Bytes before slot offset 0: the header. */
  public static final int HEADER_BYTES = 4096;

  static final int FORMAT_VERSION = 1;
  private static final byte[] MAGIC = "ZSWAPDBK".getBytes(StandardCharsets.US_ASCII);
  private static final int NAME_AT = 49;
  private static final Set<OpenOption> CREATE = Set.of(CREATE_NEW, READ, WRITE, NOFOLLOW_LINKS);
  private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
  private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

  /** A header as read back from a file: the run that owned it. */
  record Header(UUID instance, long openedAtMillis, long pid, String export) {}

  private final Path path;
  private final String export;
  private final FileChannel channel;
  private final Object fileKey;
  private final UUID instance;
  private final Executor executor;
  private final boolean takenOver;

  private FileBackingIo(Path path, String export, FileChannel channel, Object fileKey, UUID instance,
      Executor executor, boolean takenOver) {
    this.path = path;
    this.export = export;
    this.channel = channel;
    this.fileKey = fileKey;
    this.instance = instance;
    this.executor = executor;
    this.takenOver = takenOver;
  }

  /**
   * Creates the backing file of {@code export} at {@code path}, or takes over the one an earlier
   * run left there (see the class comment). The parent directory must exist. Every refusal is an
   * IOException whose message is one line naming the file and why.
   *
   * @param executor where the blocking reads and writes run, e.g. Akka's blocking dispatcher
   */
  public static FileBackingIo open(Path path, String export, Executor executor) throws IOException {
    UUID instance = UUID.randomUUID();
    FileChannel channel;
    boolean created;
    try {
      channel = FileChannel.open(path, CREATE, OWNER_ONLY);
      created = true;
    } catch (FileAlreadyExistsException e) {
      channel = openLeftByEarlierRun(path);
      created = false;
    } catch (NoSuchFileException e) {
      throw new IOException(prefix(path) + "directory " + path.toAbsolutePath().getParent() + " does not exist", e);
    } catch (UnsupportedOperationException e) {
      throw new IOException(prefix(path) + "the file system has no POSIX permissions, and a backing file must be"
          + " created readable by its owner only (0600)", e);
    } catch (IOException e) {
      throw new IOException(prefix(path) + "cannot create: " + e, e);
    }
    try {
      lockWhole(path, channel); // held until the channel closes
      if (!created) {
        // read again under the lock: only now can nobody else be taking it over at the same time
        Header previous = readHeader(channel).orElseThrow(() -> notZswapds(path));
        channel.truncate(HEADER_BYTES);
        LOG.info("export {}: taking over backing file {} left by export {} (pid {}, opened {}); its old contents "
            + "are dropped", export, path, previous.export(), previous.pid(),
            Instant.ofEpochMilli(previous.openedAtMillis()));
      }
      writeFully(channel, ByteBuffer.wrap(headerBytes(export, instance, System.currentTimeMillis(),
          ProcessHandle.current().pid())), 0);
      Object fileKey = Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW_LINKS).fileKey();
      return new FileBackingIo(path, export, channel, fileKey, instance, executor, !created);
    } catch (IOException | RuntimeException e) {
      try {
        channel.close();
        if (created) {
          Files.deleteIfExists(path); // made a moment ago and never handed out
        }
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The checks before an existing path is opened for writing; the open itself never follows a link. */
  private static FileChannel openLeftByEarlierRun(Path path) throws IOException {
    PosixFileAttributes a;
    try {
      a = Files.readAttributes(path, PosixFileAttributes.class, NOFOLLOW_LINKS);
    } catch (IOException | UnsupportedOperationException e) {
      throw new IOException(prefix(path) + "exists and cannot be examined: " + e, e);
    }
    if (a.isSymbolicLink()) {
      throw new IOException(prefix(path) + "is a symbolic link (to " + Files.readSymbolicLink(path) + "); zswapd "
          + "never follows a link to a backing file: name a path where no file exists");
    }
    if (a.isDirectory()) {
      throw new IOException(prefix(path) + "is a directory");
    }
    if (!a.isRegularFile()) {
      throw new IOException(prefix(path) + "exists and is not a regular file");
    }
    Optional<Header> header;
    try (FileChannel readOnly = FileChannel.open(path, READ, NOFOLLOW_LINKS)) {
      header = readHeader(readOnly);
    } catch (IOException e) {
      throw new IOException(prefix(path) + "exists and cannot be read: " + e, e);
    }
    if (header.isEmpty()) {
      throw notZswapds(path);
    }
    long owner = uid(path);
    long self = new com.sun.security.auth.module.UnixSystem().getUid();
    if (owner != self) {
      throw new IOException(prefix(path) + "was left by an earlier zswapd run but belongs to uid " + owner
          + ", not to this process's uid " + self + "; remove it");
    }
    Set<PosixFilePermission> loose = EnumSet.copyOf(a.permissions());
    loose.retainAll(GROUP_OR_OTHERS);
    if (!loose.isEmpty()) {
      throw new IOException(prefix(path) + "was left by an earlier zswapd run but has permissions "
          + PosixFilePermissions.toString(a.permissions()) + "; a backing file must be readable by its owner only"
          + " (rw-------): remove it");
    }
    try {
      return FileChannel.open(path, READ, WRITE, NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new IOException(prefix(path) + "cannot open for reading and writing: " + e, e);
    }
  }

  private static void lockWhole(Path path, FileChannel channel) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      throw new IOException(prefix(path) + "already in use in this process (another export or engine has it open)",
          e);
    } catch (IOException e) {
      throw new IOException(prefix(path) + "cannot lock: " + e, e);
    }
    if (lock == null) {
      throw new IOException(prefix(path) + "locked by another process (is another zswapd using it?)");
    }
  }

  private static IOException notZswapds(Path path) {
    return new IOException(prefix(path) + "exists and is not a zswapd backing file (no zswapd header); zswapd only "
        + "writes into a file it created: remove it, or name a path where no file exists");
  }

  private static String prefix(Path path) {
    return "backing file " + path + ": ";
  }

  private static long uid(Path path) throws IOException {
    return ((Number) Files.getAttribute(path, "unix:uid", NOFOLLOW_LINKS)).longValue();
  }

  /** The header of a run, as the class comment lays it out. */
  static byte[] headerBytes(String export, UUID instance, long openedAtMillis, long pid) {
    byte[] name = export.getBytes(StandardCharsets.UTF_8);
    if (name.length > 255 || NAME_AT + name.length > HEADER_BYTES) {
      throw new IllegalArgumentException("export name of " + name.length + " bytes does not fit the header");
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
    b.put(MAGIC).putInt(FORMAT_VERSION).putInt(HEADER_BYTES)
        .putLong(instance.getMostSignificantBits()).putLong(instance.getLeastSignificantBits())
        .putLong(openedAtMillis).putLong(pid).put((byte) name.length).put(name);
    return b.array();
  }

  /** The header at the start of the file: empty when it is not one this version of zswapd wrote. */
  static Optional<Header> readHeader(FileChannel channel) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
    while (b.hasRemaining()) {
      if (channel.read(b, b.position()) < 0) {
        return Optional.empty(); // shorter than a header: none
      }
    }
    if (!Arrays.equals(b.array(), 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      return Optional.empty();
    }
    b.position(MAGIC.length);
    if (b.getInt() != FORMAT_VERSION || b.getInt() != HEADER_BYTES) {
      return Optional.empty();
    }
    UUID instance = new UUID(b.getLong(), b.getLong());
    long openedAt = b.getLong();
    long pid = b.getLong();
    int nameLength = b.get() & 0xff;
    String export = new String(b.array(), NAME_AT, nameLength, StandardCharsets.UTF_8);
    return Optional.of(new Header(instance, openedAt, pid, export));
  }

  /** Writes all of a buffer that starts at 0 at {@code position}. */
  private static void writeFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
    // a positional write may write fewer bytes than asked; carry on from where it stopped
    while (buffer.hasRemaining()) {
      channel.write(buffer, position + buffer.position());
    }
  }

  /** The file's path as given. */
  public Path path() {
    return path;
  }

  /** Whether the file was left by an earlier run and taken over, rather than created by this one. */
  public boolean takenOver() {
    return takenOver;
  }

  /** The random id this run wrote into the header. */
  UUID instance() {
    return instance;
  }

  @Override
  public CompletionStage<Void> write(long slotOffset, byte[] bytes) {
    return CompletableFuture.runAsync(() -> {
      try {
        writeFully(channel, ByteBuffer.wrap(bytes), HEADER_BYTES + slotOffset);
      } catch (IOException e) {
        throw new UncheckedIOException(prefix(path) + "write of " + bytes.length + " bytes at slot offset "
            + slotOffset + " failed: " + e, e);
      }
    }, executor);
  }

  @Override
  public CompletionStage<byte[]> read(long slotOffset, int length) {
    return CompletableFuture.supplyAsync(() -> {
      ByteBuffer buffer = ByteBuffer.allocate(length);
      long position = HEADER_BYTES + slotOffset;
      try {
        while (buffer.hasRemaining()) {
          if (channel.read(buffer, position + buffer.position()) < 0) {
            throw new EOFException(prefix(path) + "end of file after " + buffer.position() + " of " + length
                + " bytes reading at slot offset " + slotOffset);
          }
        }
      } catch (EOFException e) {
        throw new UncheckedIOException(e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException(prefix(path) + "read of " + length + " bytes at slot offset " + slotOffset
            + " failed: " + e, e);
      }
      return buffer.array();
    }, executor);
  }

  /**
   * Deletes the file if the path still names the one this run opened (see the class comment),
   * then closes the channel, which releases the lock.
   */
  @Override
  public void close() {
    try {
      String notOurs = whyNotOurs();
      if (notOurs == null) {
        Files.delete(path);
        LOG.info("export {}: backing file {} removed", export, path);
      } else {
        LOG.warn("export {}: backing file {} not removed: {}", export, path, notOurs);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(prefix(path) + "removing it failed: " + e, e);
    } finally {
      try {
        channel.close(); // releases the lock, after the delete
      } catch (IOException e) {
        LOG.warn("export {}: closing backing file {} failed: {}", export, path, e.toString());
      }
    }
  }

  /** Null when the path names this run's file; otherwise why it does not. */
  private String whyNotOurs() throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return "it was removed during the run (nothing is there now)";
    }
    if (!a.isRegularFile() || (fileKey != null && !fileKey.equals(a.fileKey()))) {
      return "the path now names another file (" + a.fileKey() + ", this run's was " + fileKey + "), left in place";
    }
    Optional<Header> header;
    try (FileChannel readOnly = FileChannel.open(path, READ, NOFOLLOW_LINKS)) {
      header = readHeader(readOnly);
    }
    if (header.isEmpty() || !header.get().instance().equals(instance)) {
      return "its header no longer carries this run's instance id " + instance + ", left in place";
    }
    return null;
  }
}
