package io.zswapd.actors;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.ActorContext;
import java.time.Duration;
import io.zswapd.actors.pool.Pool;
import io.zswapd.actors.recompress.RecompressWorker;
import io.zswapd.actors.writeback.WritebackWorker;
import io.zswapd.config.LiveSetting;
import io.zswapd.config.PoolSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live settings, one of the guardian's four jobs ({@code zswapd set}): it keeps the pool
 * settings in force, the configured ones with each live change applied, and tells the part a
 * change concerns: the pool (limit, accept threshold, {@code mem_used_max}), the writeback
 * worker (idle period, reclaim timeout) or the recompression worker ({@code pool.recompress}).
 * A change is answered once it is on its way, so a later request sees it; a change of the limit
 * once the arena has it in force (the pool forwards it, so "on its way" would let a store sent
 * after the answer be judged by the old limit).
 *
 * <p>Plain state of the guardian, touched only on its thread.
 */
final class LiveSettings {
  private static final Logger LOG = LoggerFactory.getLogger(ZswapGuardian.class);
  /** How long a limit change waits for the arena before it is answered anyway. */
  private static final Duration LIMIT_APPLIED_TIMEOUT = Duration.ofSeconds(30);

  private final ActorRef<Pool.Command> pool;
  private final ActorContext<ZswapGuardian.Command> ctx;
  private ActorRef<WritebackWorker.Command> writeback;
  private ActorRef<RecompressWorker.Command> recompress;
  private PoolSettings live;

  LiveSettings(PoolSettings configured, ActorRef<Pool.Command> pool, ActorContext<ZswapGuardian.Command> ctx) {
    this.live = configured;
    this.pool = pool;
    this.ctx = ctx;
  }

  /**
   * The workers told of policy changes: writeback (idle period, reclaim timeout; null when no
   * export has a backing file) and recompression.
   */
  void workers(ActorRef<WritebackWorker.Command> writeback, ActorRef<RecompressWorker.Command> recompress) {
    this.writeback = writeback;
    this.recompress = recompress;
  }

  /** The pool settings in force. */
  PoolSettings inForce() {
    return live;
  }

  /** Where the pool accepts stores again once its limit is hit: {@code accept-threshold} of the limit, in whole pages. */
  static long acceptBelow(long limit, PoolSettings p) {
    return (long) (limit * p.acceptThreshold()) / 4096 * 4096;
  }

  void change(ZswapGuardian.ChangeSetting m) {
    LiveSetting change = m.setting();
    live = change.applyTo(live);
    long limit = live.maxSizeBytes(); // Zswapd.set checked it against the direct-memory limit
    ZswapGuardian.SettingChanged answer = new ZswapGuardian.SettingChanged(change, live, limit,
        acceptBelow(limit, live));
    boolean limitChange = change instanceof LiveSetting.MaxSize || change instanceof LiveSetting.AcceptThreshold;
    if (limitChange) {
      // Below the current usage, the next allocation finds no room: pool_limit_hit counts and
      // writeback (or, without a backing file, refusal) starts, as when the pool fills up.
      long acceptBelow = acceptBelow(limit, live);
      ctx.ask(Done.class, pool, LIMIT_APPLIED_TIMEOUT, applied -> new Pool.SetLimit(limit, acceptBelow, applied),
          (done, failure) -> new ZswapGuardian.LimitApplied(m.replyTo(), answer));
    } else if (change instanceof LiveSetting.Recompress) {
      recompress.tell(new RecompressWorker.SetPolicy(live.recompress()));
    } else if (writeback != null) {
      writeback.tell(new WritebackWorker.SetPolicy(live.writeback().idleAfter(), live.writeback().reclaimTimeout()));
    }
    LOG.info("{} = {} (live): pool limit {} B, accept below {} B, writeback idle-after {}, "
        + "reclaim-timeout {}", change.key(), change.value(), limit, acceptBelow(limit, live),
        live.writeback().idleAfter().map(LiveSetting::duration).orElse("off"),
        LiveSetting.duration(live.writeback().reclaimTimeout()));
    if (!limitChange) {
      m.replyTo().tell(answer);
    }
  }

  void setPoolLimit(ZswapGuardian.SetPoolLimit m) {
    pool.tell(new Pool.SetLimit(m.limitBytes(), m.acceptBelowBytes(), null));
  }

  void resetMax(ZswapGuardian.ResetMax m) {
    pool.tell(new Pool.ResetMax());
    m.replyTo().tell(akka.Done.getInstance());
  }
}
