"""Plausible movement of 22 players and a ball, for a synthetic tracking feed.

Not a game engine: just enough that positions look like football to an overlay or a model. Each player
drifts towards his place in a 4-4-2 that shifts with the ball; the nearest defender presses the ball; the
player on the ball dribbles forwards and passes after a short hold, usually to a teammate ahead, sometimes
into an interception (a possession change). Lofted passes over 30 m rise a few metres. Coordinates follow
``schemas/topics/mg.sports.telemetry.schema.json``: metres, home attacking towards x = 105.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

LENGTH, WIDTH = 105.0, 68.0
TEAMS = ("home", "away")
#: 4-4-2 of a team attacking towards x = 105 while the ball is on the centre spot; index 0 is the keeper.
FORMATION = ((5.0, 34.0), (22.0, 10.0), (18.0, 26.0), (18.0, 42.0), (22.0, 58.0),
             (40.0, 12.0), (36.0, 28.0), (36.0, 40.0), (40.0, 56.0), (52.0, 27.0), (52.0, 41.0))
FORWARDS = frozenset({9, 10})
SQUAD = 16  # 11 starters and 5 substitutes
MAX_SPEED = 7.5          # m/s, a sprint
DRIBBLE_SPEED = 4.0      # m/s
FOLLOW = 1.5             # 1/s: how quickly a player closes the gap to his target
JITTER = 0.4             # m/s of random wobble
SHIFT_X, SHIFT_Y = 0.45, 0.25  # how far the block follows the ball
PASS_SPEED = 16.0        # m/s
INTERCEPTION = 0.18      # share of passes the other team wins
HOLD_S = (0.4, 1.4)      # minimum and mean extra time on the ball before a pass
LOFT_OVER_M = 30.0
FIRST = ("Luca", "Mateo", "Noah", "Kofi", "Jonas", "Rafael", "Yusuf", "Emil", "Hugo", "Tariq", "Leon", "Diego",
         "Sami", "Oskar", "Ivan", "Marco", "Kenji", "Ali", "Theo", "Bruno", "Nils", "Adam", "Felix", "Omar")
LAST = ("Silva", "Müller", "Okafor", "Rossi", "Novak", "García", "Jensen", "Dubois", "Kowalski", "Haddad",
        "Moreau", "Costa", "Schmidt", "Mensah", "Larsen", "Ibrahim", "Petrov", "Santos", "Fischer", "Nakamura",
        "Lindqvist", "Ortega", "Byrne", "Demir")


@dataclass
class Player:
    id: int
    team: str
    shirt: int
    name: str
    slot: int  # place in FORMATION while on the pitch; squad index on the bench
    x: float = 0.0
    y: float = 0.0

    def as_message(self) -> dict[str, object]:
        return {"id": self.id, "team": self.team, "shirt": self.shirt, "name": self.name,
                "x": round(self.x, 2), "y": round(self.y, 2)}


@dataclass
class Flight:
    """A pass on its way: from (x0, y0) at t0 to (x1, y1) at t1, peaking at ``apex`` metres."""

    x0: float
    y0: float
    x1: float
    y1: float
    t0: float
    t1: float
    apex: float
    receiver: Player


class Pitch:
    """The state of play, advanced one frame at a time by :meth:`step`; match events change it too."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        ids = rng.sample(range(100_000, 1_000_000), 2 * SQUAD)
        squads = {team: [self._player(ids.pop(), team, slot) for slot in range(SQUAD)] for team in TEAMS}
        self.players = [p for team in TEAMS for p in squads[team][:len(FORMATION)]]
        self.bench = {team: squads[team][len(FORMATION):] for team in TEAMS}
        for p in self.players:
            p.x, p.y = self._home_spot(p, LENGTH / 2, WIDTH / 2)
        self.ball = [LENGTH / 2, WIDTH / 2, 0.0]
        self.carrier: Player | None = None
        self.flight: Flight | None = None
        self.next_pass_s = 0.0
        self.kick_off("home", 0.0)

    @property
    def possession(self) -> str:
        """The team on the ball, or the team a pass in flight is meant for."""
        if self.carrier is not None:
            return self.carrier.team
        assert self.flight is not None
        return self.flight.receiver.team

    def step(self, at: float, dt: float, playing: bool) -> None:
        """Advance to time ``at``: the ball first, then every player; no new passes once play has stopped."""
        if self.flight is not None:
            self._fly(at)
        elif playing and at >= self.next_pass_s:
            self._pass(at)
        defenders = self.on_pitch(_other(self.possession), outfield=True)
        presser = _nearest(defenders, self.ball[0], self.ball[1]) if defenders else None
        for p in self.players:
            tx, ty, top = self._target(p, playing, presser)
            p.x, p.y = self._move(p, tx, ty, top, dt)
        if self.carrier is not None:
            self.ball = [self.carrier.x + self._sign(self.carrier) * 0.5, self.carrier.y, 0.0]

    def snapshot(self) -> dict[str, object]:
        """The frame fields of a telemetry message (without the frame counter)."""
        x, y, z = self.ball
        return {"players": [p.as_message() for p in self.players],
                "ball": {"x": round(x, 2), "y": round(y, 2), "z": round(z, 2)}}

    def kick_off(self, team: str, at: float) -> None:
        """Ball on the centre spot at the feet of ``team``'s most advanced player."""
        taker = max(self.on_pitch(team), key=lambda p: p.slot)
        taker.x, taker.y = LENGTH / 2, WIDTH / 2
        self.carrier, self.flight = taker, None
        self.ball = [LENGTH / 2, WIDTH / 2, 0.0]
        self.next_pass_s = at + 1.0

    def on_pitch(self, team: str, outfield: bool = False) -> list[Player]:
        return [p for p in self.players if p.team == team and not (outfield and p.slot == 0)]

    def pick(self, team: str, attacking_bias: bool = False) -> Player | None:
        """A random outfield player of ``team``; forwards are likelier with ``attacking_bias`` (scorers)."""
        candidates = self.on_pitch(team, outfield=True)
        if not candidates:
            return None
        weights = [1 + 3 * (p.slot in FORWARDS) + (p.slot >= 5) if attacking_bias else 1 for p in candidates]
        return self.rng.choices(candidates, weights)[0]

    def send_off(self, player: Player) -> None:
        self.players.remove(player)
        self._hand_over(player, _nearest(self.on_pitch(player.team), player.x, player.y))

    def substitute(self, off: Player) -> Player | None:
        """``off`` leaves for the first substitute on the bench, who comes on at the halfway line."""
        if not self.bench[off.team]:
            return None
        on = self.bench[off.team].pop(0)
        on.slot, on.x, on.y = off.slot, LENGTH / 2, -1.0
        self.players[self.players.index(off)] = on
        self._hand_over(off, on)
        return on

    def _player(self, pid: int, team: str, index: int) -> Player:
        """Squad member ``index``: starters take formation places 0..10, substitutes get theirs on coming on."""
        return Player(pid, team, index + 1, f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}", index)

    def _hand_over(self, gone: Player, heir: Player) -> None:
        if self.carrier is gone:
            self.carrier = heir
        if self.flight is not None and self.flight.receiver is gone:
            self.flight.receiver = heir

    def _pass(self, at: float) -> None:
        carrier = self.carrier
        assert carrier is not None
        mates = [p for p in self.on_pitch(carrier.team) if p is not carrier]
        ahead = [1.5 if self._sign(carrier) * (p.x - carrier.x) > 0 else 1.0 for p in mates]
        weights = [a / (1 + abs(math.hypot(p.x - carrier.x, p.y - carrier.y) - 18) / 10)
                   for a, p in zip(ahead, mates, strict=True)]
        receiver = self.rng.choices(mates, weights)[0]
        x0, y0 = self.ball[0], self.ball[1]
        if self.rng.random() < INTERCEPTION:
            receiver = _nearest(self.on_pitch(_other(carrier.team)), (x0 + receiver.x) / 2, (y0 + receiver.y) / 2)
        length = math.hypot(receiver.x - x0, receiver.y - y0)
        apex = self.rng.uniform(3.0, 8.0) if length > LOFT_OVER_M else 0.0
        self.flight = Flight(x0, y0, receiver.x, receiver.y, at, at + max(length / PASS_SPEED, 0.3), apex, receiver)
        self.carrier = None

    def _fly(self, at: float) -> None:
        f = self.flight
        assert f is not None
        s = min((at - f.t0) / (f.t1 - f.t0), 1.0)
        self.ball = [f.x0 + s * (f.x1 - f.x0), f.y0 + s * (f.y1 - f.y0), 4 * f.apex * s * (1 - s)]
        if s >= 1.0:
            self.carrier, self.flight = f.receiver, None
            self.next_pass_s = at + HOLD_S[0] + self.rng.expovariate(1 / HOLD_S[1])

    def _target(self, p: Player, playing: bool, presser: Player | None) -> tuple[float, float, float]:
        """Where ``p`` heads now and how fast he may go there."""
        if playing and p is self.carrier:
            return p.x + self._sign(p) * 3.0, p.y, DRIBBLE_SPEED
        if self.flight is not None and p is self.flight.receiver:
            return self.flight.x1, self.flight.y1, MAX_SPEED
        if playing and p is presser:
            return self.ball[0], self.ball[1], MAX_SPEED
        x, y = self._home_spot(p, self.ball[0], self.ball[1])
        return x, y, MAX_SPEED

    def _home_spot(self, p: Player, ball_x: float, ball_y: float) -> tuple[float, float]:
        fx, fy = FORMATION[p.slot]
        keeper = p.slot == 0
        if p.team == "away":
            fx, fy = LENGTH - fx, WIDTH - fy
        x = fx + (0.1 if keeper else SHIFT_X) * (ball_x - LENGTH / 2)
        y = fy + (0.1 if keeper else SHIFT_Y) * (ball_y - WIDTH / 2)
        return min(max(x, 0.0), LENGTH), min(max(y, 0.0), WIDTH)

    def _move(self, p: Player, tx: float, ty: float, top: float, dt: float) -> tuple[float, float]:
        vx, vy = FOLLOW * (tx - p.x), FOLLOW * (ty - p.y)
        speed = math.hypot(vx, vy)
        if speed > top:
            vx, vy = vx * top / speed, vy * top / speed
        vx += self.rng.gauss(0.0, JITTER)
        vy += self.rng.gauss(0.0, JITTER)
        return min(max(p.x + vx * dt, -5.0), LENGTH + 5.0), min(max(p.y + vy * dt, -5.0), WIDTH + 5.0)

    @staticmethod
    def _sign(p: Player) -> float:
        return 1.0 if p.team == "home" else -1.0


def _other(team: str) -> str:
    return "away" if team == "home" else "home"


def _nearest(players: list[Player], x: float, y: float) -> Player:
    return min(players, key=lambda p: math.hypot(p.x - x, p.y - y))
