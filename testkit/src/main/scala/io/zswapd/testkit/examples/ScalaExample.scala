package io.zswapd.testkit.examples

import akka.actor.typed.scaladsl.AskPattern._
import akka.actor.typed.scaladsl.Behaviors
import akka.actor.typed.{ActorRef, ActorSystem, Behavior}
import akka.util.Timeout
import io.zswapd.actors.embedded.{OverflowStore, Zswapd}
import io.zswapd.actors.overflow.{OverflowKey, OverflowLimits}

import java.nio.charset.StandardCharsets.UTF_8
import scala.concurrent.duration._
import scala.concurrent.{Await, ExecutionContext, Future}
import scala.jdk.FutureConverters._
import scala.jdk.OptionConverters._
import scala.util.{Failure, Success}

/**
 * The README's examples in Scala: the overflow store through its futures, and an actor that
 * parks session state by telling and asking the namespace's actor. `EmbeddingExampleTest`
 * runs it on every build.
 */
object ScalaExample {

  sealed trait Command
  final case class Park(session: String, state: String) extends Command
  final case class Resume(session: String, replyTo: ActorRef[String]) extends Command
  private final case class Restored(replyTo: ActorRef[String], answer: String) extends Command

  /** Keeps the idle state of sessions in `store`, without blocking. */
  def sessionKeeper(store: OverflowStore): Behavior[Command] = Behaviors.receive { (context, message) =>
    message match {
      case Park(session, state) =>
        store.ref ! new OverflowStore.Put(OverflowKey.of(session), state.getBytes(UTF_8), context.system.ignoreRef)
        Behaviors.same
      case Resume(session, replyTo) =>
        implicit val timeout: Timeout = 10.seconds
        context.ask(store.ref, (r: ActorRef[OverflowStore.GetResult]) => new OverflowStore.Get(OverflowKey.of(session), r)) {
          case Success(found: OverflowStore.Found) =>
            Restored(replyTo, new String(found.value.asInstanceOf[Array[Byte]], UTF_8))
          case Success(_: OverflowStore.Missing) => Restored(replyTo, "none")
          case Success(other)                    => Restored(replyTo, s"failed: $other")
          case Failure(e)                        => Restored(replyTo, s"failed: ${e.getMessage}")
        }
        Behaviors.same
      case Restored(replyTo, answer) =>
        replyTo ! answer
        Behaviors.same
    }
  }

  def main(args: Array[String]): Unit = println(run())

  /** Runs both examples; returns what they printed. */
  def run(): String = {
    val system: ActorSystem[Unit] = ActorSystem(Behaviors.empty[Unit], "scala-example")
    implicit val ec: ExecutionContext = system.executionContext
    try {
      val zswapd = Zswapd.get(system)
      // futures: a namespace with at most 10,000 values, least recently used evicted
      val cold = Await.result(zswapd.overflowStore("sessions",
        OverflowLimits.NONE.withMaxEntries(10000).withWhenFull(OverflowLimits.WhenFull.EVICT_LRU)).asScala, 30.seconds)
      val viaFutures: Future[String] = for {
        _ <- cold.put("session-7", "a cold session".getBytes(UTF_8)).asScala
        value <- cold.get("session-7").asScala
      } yield value.toScala.map(new String(_, UTF_8)).getOrElse("none")

      // an actor
      val keeper = system.systemActorOf(sessionKeeper(cold), "keeper")
      keeper ! Park("s-1", "cart: 3 books")
      implicit val timeout: Timeout = 10.seconds
      implicit val scheduler: akka.actor.typed.Scheduler = system.scheduler
      val parked = keeper.ask[String](r => Resume("s-1", r))
      val never = keeper.ask[String](r => Resume("s-2", r))
      val all = for (v <- viaFutures; p <- parked; n <- never) yield s"futures: $v; s-1: $p; s-2: $n"
      Await.result(all, 30.seconds)
    } finally {
      system.terminate()
      Await.result(system.whenTerminated, 30.seconds)
    }
  }
}
