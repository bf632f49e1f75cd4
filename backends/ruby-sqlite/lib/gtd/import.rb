# frozen_string_literal: true

require_relative "errors"
require_relative "graph"
require_relative "validation"

module Gtd
  # POST /import (contract v2 §7), the pure part: checks a whole export
  # document against the store's current ids and decides, per item, whether it
  # is created, updated (its updated_at is later than the stored one) or left
  # unchanged. Nothing is written here; Store#import applies the Plan in one
  # transaction, so a refused document changes nothing.
  #
  # The first violation in document order (version, projects in order, tasks
  # in order) is raised as a 422 whose field names it, e.g. "tasks[3].status".
  module Import
    VERSION = 2

    # One document item, validated and normalised: values holds every member
    # (absent optional ones filled in), action is :create, :update or :unchanged.
    Item = Struct.new(:values, :action)
    Plan = Struct.new(:projects, :tasks)

    # What the plan needs to know about the store: {id => updated_at} of its
    # projects and tasks, and its dependencies {task_id => [blocker_id, ...]}.
    Snapshot = Struct.new(:projects, :tasks, :dependencies, keyword_init: true)

    V = Validation
    # member => [rule, required, nullable], in ExportProject / ExportTask order.
    PROJECT_MEMBERS = {
      "id" => [V::UUID, true, false],
      "name" => [V::PROJECT_FIELDS["name"].rule, true, false],
      "status" => [V::PROJECT_FIELDS["status"].rule, true, false],
      "notes" => [V::PROJECT_FIELDS["notes"].rule, false, true],
      "reviewed_on" => [V::DATE, false, true],
      "created_at" => [V::TIMESTAMP, true, false],
      "updated_at" => [V::TIMESTAMP, true, false]
    }.freeze
    TASK_MEMBERS = {
      "id" => [V::UUID, true, false],
      "title" => [V::TASK_FIELDS["title"].rule, true, false],
      "notes" => [V::TASK_FIELDS["notes"].rule, false, true],
      "status" => [V::TASK_FIELDS["status"].rule, true, false],
      "project_id" => [V::UUID, false, true],
      "context" => [V::CONTEXT, false, true],
      "due_date" => [V::DATE, false, true],
      "defer_until" => [V::DATE, false, true],
      "repeat" => [V::REPEAT, false, true],
      "blocked_by" => [V::BLOCKED_BY, false, false],
      "completed_at" => [V::TIMESTAMP, false, true],
      "created_at" => [V::TIMESTAMP, true, false],
      "updated_at" => [V::TIMESTAMP, true, false]
    }.freeze
    TOP_LEVEL = %w[version exported_at projects tasks].freeze

    module_function

    # The Plan for doc (parsed JSON) against snapshot; raises ApiError (422) at the first violation.
    def plan(doc, snapshot)
      raise ApiError.invalid(nil, "request body must be a JSON object") unless doc.is_a?(Hash)

      V.js_key_order(doc.keys).each do |key|
        raise ApiError.invalid(key, "unknown member '#{key}'") unless TOP_LEVEL.include?(key)
      end
      check_version(doc)
      %w[projects tasks].each do |key|
        raise ApiError.invalid(key, "#{key} is required") unless doc.key?(key)
        raise ApiError.invalid(key, "#{key} must be an array") unless doc[key].is_a?(Array)
      end

      projects = plan_projects(doc["projects"], snapshot)
      project_ids = projects.to_h { |item| [item.values["id"], true] }
      tasks = plan_tasks(doc["tasks"], snapshot, project_ids)
      check_cycles(tasks, snapshot)
      Plan.new(projects, tasks)
    end

    def check_version(doc)
      raise ApiError.invalid("version", "version is required") unless doc.key?("version")

      version = doc["version"]
      return if version.is_a?(Numeric) && version == VERSION

      if version.is_a?(Numeric) && version > VERSION
        raise ApiError.invalid("version", "this document comes from a newer version (#{version}); " \
                                          "this backend reads version #{VERSION}")
      end
      raise ApiError.invalid("version", "version must be #{VERSION}")
    end

    def plan_projects(items, snapshot)
      seen = {}
      items.each_with_index.map do |item, index|
        prefix = "projects[#{index}]"
        values = read_item(item, PROJECT_MEMBERS, prefix) do |member, value|
          if member == "id"
            raise ApiError.invalid("#{prefix}.id", "#{prefix}.id appears twice in the document") if seen[value]

            seen[value] = true
          end
        end
        Item.new(values, action(values, snapshot.projects))
      end
    end

    def plan_tasks(items, snapshot, document_projects)
      # blocked_by may name a task later in the document.
      document_tasks = items.each_with_object({}) do |item, ids|
        ids[item["id"].downcase] = true if item.is_a?(Hash) && V.uuid?(item["id"])
      end
      seen = {}
      items.each_with_index.map do |item, index|
        prefix = "tasks[#{index}]"
        values = read_item(item, TASK_MEMBERS, prefix) do |member, value, so_far|
          field = "#{prefix}.#{member}"
          case member
          when "id"
            raise ApiError.invalid(field, "#{field} appears twice in the document") if seen[value]

            seen[value] = true
          when "project_id"
            unless value.nil? || document_projects[value] || snapshot.projects.key?(value)
              raise ApiError.invalid(field, "#{field} names no project in the document or the store")
            end
          when "blocked_by"
            check_blockers(value, so_far["id"], field) { |id| document_tasks[id] || snapshot.tasks.key?(id) }
          end
        end
        values["blocked_by"] ||= []
        Item.new(values, action(values, snapshot.tasks))
      end
    end

    # blocked_by of the task `self_id`: existing tasks, not itself, no id twice.
    def check_blockers(ids, self_id, field)
      unless ids.all? { |id| yield(id) }
        raise ApiError.invalid(field, "#{field} names a task that is in neither the document nor the store")
      end
      raise ApiError.invalid(field, "#{field} must not name the task itself") if ids.include?(self_id)
      raise ApiError.invalid(field, "#{field} names a task twice") unless ids.uniq.length == ids.length
    end

    # The members of one item, checked in order; the block sees each value as soon
    # as it is valid, and the members read so far (for the checks that need
    # other items or the store).
    def read_item(item, members, prefix)
      raise ApiError.invalid(prefix, "#{prefix} must be an object") unless item.is_a?(Hash)

      V.js_key_order(item.keys).each do |key|
        field = "#{prefix}.#{key}"
        raise ApiError.invalid(field, "unknown or read-only member '#{field}'") unless members.key?(key)
      end
      members.each_with_object({}) do |(member, (rule, required, nullable)), values|
        field = "#{prefix}.#{member}"
        unless item.key?(member)
          raise ApiError.invalid(field, "#{field} is required") if required

          values[member] = nil
          next
        end
        value = item[member]
        if value.nil?
          raise ApiError.invalid(field, "#{field} must not be null") unless nullable

          values[member] = nil
        else
          values[member] = rule.call(value, field)
        end
        yield member, values[member], values
      end
    end

    def action(values, stored)
      stored_updated_at = stored[values["id"]]
      return :create if stored_updated_at.nil?

      values["updated_at"] > stored_updated_at ? :update : :unchanged
    end

    # The merged graph (store edges, replaced by every created or updated task's
    # blocked_by) must be acyclic; a cycle is named at the first document task on it.
    def check_cycles(tasks, snapshot)
      edges = snapshot.dependencies.dup
      tasks.each { |item| edges[item.values["id"]] = item.values["blocked_by"] unless item.action == :unchanged }
      on_cycle = Graph.cycle_nodes(edges)
      return if on_cycle.empty?

      index = tasks.index { |item| on_cycle[item.values["id"]] }
      field = "tasks[#{index}].blocked_by"
      raise ApiError.invalid(field, "#{field} makes a dependency cycle")
    end
  end
end
