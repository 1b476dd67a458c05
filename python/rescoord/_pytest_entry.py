"""The `pytest11` entry point `rescoord` of an installed package.

It only names the plugin module, so pytest loads rescoord.pytest_plugin
once, whether it comes from this entry point, from `-p
rescoord.pytest_plugin`, or both (registering the module itself under a
second name would be an error).  `-p no:rescoord` disables it.
"""

pytest_plugins = ["rescoord.pytest_plugin"]
