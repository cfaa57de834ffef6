"""What drupe-process registers: engine plugins, config defaults, environments, compat names."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import drupe
import drupe_process
from drupe.process import plugins
from drupe.protocols import BusPlugin
from drupe_process import hooks

ENGINE_PLUGINS = {
    "signal_handler": drupe_process.SignalHandler,
    "autoreload": drupe_process.Autoreloader,
    "timeout_monitor": drupe_process.TimeoutMonitor,
    "thread_manager": drupe_process.ThreadManager,
    "daemonizer": drupe_process.Daemonizer,
    "pidfile": drupe_process.PIDFile,
    "drop_privileges": drupe_process.DropPrivileges,
    "health": drupe_process.Health,
}


@pytest.mark.parametrize(("name", "cls"), sorted(ENGINE_PLUGINS.items()))
def test_engine_attributes_resolve_to_our_plugins(name: str, cls: Any) -> None:
    assert drupe.registry.distribution("drupe.engine", name)[0] == "drupe-process"  # type: ignore[index]
    plugin: Any = getattr(drupe.engine, name)
    assert type(plugin) is cls
    assert plugin.bus is drupe.engine
    assert getattr(drupe.engine, name) is plugin  # created once
    assert isinstance(plugin, BusPlugin)


def test_the_hook_module_is_registered_with_the_kernel() -> None:
    drupe.boot()
    assert drupe.get_plugin_manager().is_registered(hooks)


def test_config_defaults_are_cherrypys() -> None:
    assert hooks.drupe_config_defaults() == {
        "engine.autoreload.on": True,
        "engine.timeout_monitor.on": True,
        "engine.thread_manager.on": True,
    }
    drupe.boot()
    for key, value in hooks.drupe_config_defaults().items():
        assert drupe.config.defaults[key] is value
        assert drupe.config[key] is value


def test_by_default_the_plugins_are_subscribed_but_signals_are_not() -> None:
    drupe.boot()
    engine = drupe.engine
    assert engine.autoreload.start in engine.listeners["start"]
    assert engine.timeout_monitor.start in engine.listeners["start"]
    assert engine.thread_manager.acquire_thread in engine.listeners["acquire_thread"]
    assert not engine.listeners.get("SIGTERM")


@pytest.mark.parametrize("environment", ["production", "staging", "embedded", "test_suite"])
def test_environments_turn_the_autoreloader_off(environment: str) -> None:
    drupe.boot()
    assert drupe.config.environments[environment]["engine.autoreload.on"] is False
    drupe.config.update({"environment": environment})
    assert drupe.engine.autoreload.start not in drupe.engine.listeners["start"]
    assert drupe.engine.timeout_monitor.start in drupe.engine.listeners["start"]


def test_autoreload_on_false_means_no_autoreloader_thread() -> None:
    drupe.config.update({"engine.autoreload.on": False})
    drupe.server.unsubscribe()
    drupe.engine.start()
    names = {thread.name for thread in threading.enumerate()}
    assert "Autoreloader" not in names
    assert "_TimeoutMonitor" in names


def test_production_environment_starts_no_autoreloader() -> None:
    drupe.config.update({"environment": "production"})
    drupe.server.unsubscribe()
    drupe.engine.start()
    assert drupe.engine.autoreload.thread is None
    assert drupe.engine.timeout_monitor.thread is not None


def test_reset_applies_the_defaults_again() -> None:
    drupe.config.update({"engine.autoreload.on": False})
    assert drupe.engine.autoreload.start not in drupe.engine.listeners["start"]
    drupe.reset()
    assert drupe.engine.autoreload.start in drupe.engine.listeners["start"]


def test_engine_plugin_attributes_are_set_from_config() -> None:
    drupe.config.update({"engine.autoreload.frequency": 3, "engine.autoreload.match": r"^app"})
    assert drupe.engine.autoreload.frequency == 3
    assert drupe.engine.autoreload.match == r"^app"


@pytest.mark.parametrize("name", ["Monitor", "BackgroundTask", "PerpetualTimer", "SignalHandler",
                                  "Autoreloader", "ThreadManager", "TimeoutMonitor", "Daemonizer",
                                  "PIDFile", "DropPrivileges"])
def test_compat_module_names(name: str) -> None:
    assert getattr(plugins, name) is getattr(drupe_process, name)


def test_compat_module_keeps_the_kernel_names_and_cherrypys_timeout_monitor_name() -> None:
    assert plugins.SimplePlugin is drupe.SimplePlugin
    assert plugins._TimeoutMonitor is drupe_process.TimeoutMonitor
    with pytest.raises(AttributeError):
        plugins.NoSuchPlugin  # noqa: B018
