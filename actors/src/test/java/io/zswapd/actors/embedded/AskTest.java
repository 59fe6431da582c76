package io.zswapd.actors.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Requests with swept timeouts: answered, mapped, timed out, and failed when the system stops. */
class AskTest {
  private static ActorTestKit kit;
  private static Ask asks;

  /** A request naming its reply-to, as the engine's are. */
  record Question(int n, ActorRef<Integer> replyTo) {}

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
    asks = new Ask(kit.system(), Duration.ofMillis(300), "asks");
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aReplyCompletesTheFutureWithTheMappedValueAndAMappingErrorFailsIt() {
    TestProbe<Question> target = kit.createTestProbe();
    CompletableFuture<String> ok = asks.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(1, r), null,
        n -> "got " + n, Ask.Completion.REPLYING_THREAD);
    CompletableFuture<String> bad = asks.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(2, r), null,
        n -> {
          throw new IllegalArgumentException("refused " + n);
        }, Ask.Completion.TASK);
    target.receiveMessage().replyTo().tell(41);
    target.receiveMessage().replyTo().tell(42);
    assertThat(ok.join()).isEqualTo("got 41");
    assertThatThrownBy(bad::join).hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("refused 42");
  }

  @Test
  void aTaskCompletionRunsTheCallersCodeOffTheReplyingThreadWithoutHoldingItUp() throws Exception {
    TestProbe<Question> target = kit.createTestProbe();
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<Integer> onTask = asks.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(1, r), null,
        n -> n, Ask.Completion.TASK);
    CompletableFuture<Thread> ranOn = onTask.thenApply(n -> {
      try {
        // A caller's callback that blocks, here until the replier has moved on (bounded, so
        // that run on the replying thread it fails the test below instead of hanging it).
        release.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return Thread.currentThread();
    });
    target.receiveMessage().replyTo().tell(1); // returns at once: the callback waits on another thread
    release.countDown();
    assertThat(ranOn.get(10, TimeUnit.SECONDS)).isNotSameAs(Thread.currentThread());
    assertThat(ranOn.join().getName()).contains(kit.system().name());

    CompletableFuture<Integer> inPlace = asks.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(2, r), null,
        n -> n, Ask.Completion.REPLYING_THREAD);
    CompletableFuture<Thread> ranHere = inPlace.thenApply(n -> Thread.currentThread());
    target.receiveMessage().replyTo().tell(2);
    assertThat(ranHere.getNow(null)).isSameAs(Thread.currentThread());
  }

  @Test
  void anUnansweredRequestFailsAfterItsTimeoutNotBeforeAndALateReplyIsIgnored() throws Exception {
    TestProbe<Question> target = kit.createTestProbe();
    long start = System.nanoTime();
    CompletableFuture<Integer> f = asks.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(3, r));
    ActorRef<Integer> replyTo = target.receiveMessage().replyTo();
    assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class)
        .hasMessageContaining("zswapd did not answer within 300 ms");
    // A request is only ever failed late, never early: it is first seen at or after its start.
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    replyTo.tell(7); // after the timeout: dropped, and the caller's outcome stays the timeout
    assertThatThrownBy(f::join).hasCauseInstanceOf(TimeoutException.class);
  }

  @Test
  void answeredRequestsAreNotFailedLaterByTheSweeper() throws Exception {
    TestProbe<Question> target = kit.createTestProbe();
    List<CompletableFuture<Integer>> all = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      int n = i;
      all.add(asks.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(n, r)));
    }
    for (int i = 0; i < 1000; i++) {
      Question q = target.receiveMessage();
      q.replyTo().tell(q.n());
    }
    Thread.sleep(600); // two timeouts' worth of sweeps
    for (int i = 0; i < 1000; i++) {
      assertThat(all.get(i).join()).isEqualTo(i);
    }
  }

  /** Each asking thread offers to a queue of its own (by thread id); the sweeper watches them all. */
  @Test
  void unansweredRequestsFromManyThreadsAllTimeOut() throws Exception {
    TestProbe<Question> target = kit.createTestProbe();
    List<CompletableFuture<Integer>> all = askFromSixteenThreads(asks, target);
    for (int i = 0; i < all.size(); i++) {
      CompletableFuture<Integer> f = all.get(i);
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).as("request from thread %d", i)
          .hasCauseInstanceOf(TimeoutException.class);
    }
  }

  @Test
  void whenTheSystemTerminatesRequestsOfEveryThreadFail() {
    ActorTestKit other = ActorTestKit.create();
    Ask longTimeout = new Ask(other.system(), Duration.ofSeconds(60), "asks");
    List<CompletableFuture<Integer>> all = askFromSixteenThreads(longTimeout, other.createTestProbe());
    other.shutdownTestKit();
    for (int i = 0; i < all.size(); i++) {
      CompletableFuture<Integer> f = all.get(i);
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).as("request from thread %d", i)
          .hasCauseInstanceOf(IllegalStateException.class).hasMessageContaining("actor system terminated");
    }
  }

  /** One request from each of sixteen new threads (consecutive thread ids), none answered. */
  private static List<CompletableFuture<Integer>> askFromSixteenThreads(Ask from, TestProbe<Question> target) {
    List<CompletableFuture<Integer>> all = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int t = 0; t < 16; t++) {
      int n = t;
      Thread asker = new Thread(() -> all.add(from.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(n, r))));
      asker.start();
      try {
        asker.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    for (int t = 0; t < 16; t++) {
      target.receiveMessage();
    }
    return all;
  }

  @Test
  void whenTheSystemTerminatesWaitingRequestsFailAtOnceAndLaterOnesImmediately() {
    ActorTestKit other = ActorTestKit.create();
    Ask longTimeout = new Ask(other.system(), Duration.ofSeconds(60), "asks");
    TestProbe<Question> target = other.createTestProbe();
    CompletableFuture<Integer> waiting = longTimeout.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(1, r));
    target.receiveMessage();
    other.shutdownTestKit();
    assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class)
        .hasMessageContaining("actor system terminated");
    CompletableFuture<Integer> later = longTimeout.ask(target.getRef(), (ActorRef<Integer> r) -> new Question(2, r));
    assertThat(later).isCompletedExceptionally();
    assertThatThrownBy(later::join).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(IllegalStateException.class);
  }
}
